package backoff

import (
	"context"
	"testing"
	"time"
)

func TestNextDoublesUpToMaxAndResets(t *testing.T) {
	b := New(10*time.Millisecond, 50*time.Millisecond)
	want := []time.Duration{10, 20, 40, 50, 50}
	for i, w := range want {
		if got := b.Next(); got != w*time.Millisecond {
			t.Fatalf("delay %d: got %v, want %v", i, got, w*time.Millisecond)
		}
	}
	b.Reset()
	if got := b.Next(); got != 10*time.Millisecond {
		t.Fatalf("after reset: got %v, want 10ms", got)
	}
}

func TestNewRaisesMaxToMin(t *testing.T) {
	b := New(time.Second, time.Millisecond)
	b.Next()
	if got := b.Next(); got != time.Second {
		t.Fatalf("got %v, want the floor when max < min", got)
	}
}

func TestWaitEndsOnWakeAndOnCancel(t *testing.T) {
	wake := make(chan struct{}, 1)
	wake <- struct{}{}
	if !Wait(context.Background(), time.Hour, wake) {
		t.Fatal("a wake must end the wait with true")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Wait(ctx, time.Hour, nil) {
		t.Fatal("a cancelled context must end the wait with false")
	}
	if !Wait(context.Background(), 0, nil) {
		t.Fatal("a zero delay must return true at once")
	}
}
