package boundedmap

import (
	"testing"
	"time"
)

func TestFullMapEvictsTheOldestAndSaysSo(t *testing.T) {
	m := New[string, int](2, 0)
	var evicted []string
	m.OnEvict = func(k string, _ int) { evicted = append(evicted, k) }
	m.Put("a", 1)
	m.Put("b", 2)
	m.Put("a", 3) // refreshes a: b is now the oldest
	m.Put("c", 4)
	if m.Len() != 2 {
		t.Fatalf("len %d, want the bound 2", m.Len())
	}
	if _, ok := m.Get("b"); ok {
		t.Fatal("b, put longest ago, should have been evicted")
	}
	if v, ok := m.Get("a"); !ok || v != 3 {
		t.Fatalf("a = %d, %v; want 3, true", v, ok)
	}
	if len(evicted) != 1 || evicted[0] != "b" {
		t.Fatalf("OnEvict saw %v, want [b]", evicted)
	}
}

func TestEntriesExpire(t *testing.T) {
	m := New[string, int](4, time.Millisecond)
	var evicted []string
	m.OnEvict = func(k string, _ int) { evicted = append(evicted, k) }
	m.Put("a", 1)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := m.Get("a"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("entry never expired")
		}
	}
	if len(evicted) != 1 || evicted[0] != "a" {
		t.Fatalf("OnEvict saw %v, want [a]", evicted)
	}
	if m.Len() != 0 {
		t.Fatalf("len %d after expiry, want 0", m.Len())
	}
}

func TestUpdateAndPutIfAbsent(t *testing.T) {
	m := New[string, int](4, 0)
	inc := func(old int, _ bool) int { return old + 1 }
	m.Update("a", inc)
	if got := m.Update("a", inc); got != 2 {
		t.Fatalf("two increments gave %d", got)
	}
	if m.PutIfAbsent("a", 10) {
		t.Fatal("PutIfAbsent overwrote a present key")
	}
	if !m.PutIfAbsent("b", 10) {
		t.Fatal("PutIfAbsent refused an absent key")
	}
	m.Delete("a")
	if _, ok := m.Get("a"); ok {
		t.Fatal("deleted key still present")
	}
}

func TestBoundHoldsUnderAFloodOfNewKeys(t *testing.T) {
	m := New[int, struct{}](16, time.Hour)
	for i := range 10_000 {
		m.Put(i, struct{}{})
	}
	if m.Len() != 16 {
		t.Fatalf("len %d after 10 000 distinct keys, want 16", m.Len())
	}
	if _, ok := m.Get(9_999); !ok {
		t.Fatal("the newest key must survive")
	}
}
