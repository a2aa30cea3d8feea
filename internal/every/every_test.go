package every

import (
	"testing"
	"time"
)

func TestIntervalAllowsOncePerPeriod(t *testing.T) {
	e := Interval{Period: time.Hour}
	if !e.Allow() {
		t.Fatal("the first call must be allowed")
	}
	if e.Allow() {
		t.Fatal("a second call within the period must not be")
	}
	e.Period = 0
	if !e.Allow() {
		t.Fatal("with the period over, a call is allowed again")
	}
}

func TestKeyedIsPerKey(t *testing.T) {
	e := NewKeyed[string](time.Hour, 8)
	if !e.Allow("a") || !e.Allow("b") {
		t.Fatal("each key's first call must be allowed")
	}
	if e.Allow("a") {
		t.Fatal("a key's second call within the period must not be")
	}
}

func TestKeyedForgetsAfterThePeriod(t *testing.T) {
	e := NewKeyed[string](time.Millisecond, 8)
	if !e.Allow("a") {
		t.Fatal("first call")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !e.Allow("a") {
		if time.Now().After(deadline) {
			t.Fatal("the key was never allowed again after its period")
		}
	}
}
