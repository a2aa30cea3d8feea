// Package boundedmap is a map with a size bound and an expiry, for the
// per-peer records a node keeps (strikes, bans, log throttles): peers come
// and go, and a misbehaving one can make fresh identities for free, so no
// such record may grow without bound or live for ever.
package boundedmap

import (
	"sync"
	"time"
)

// Map holds at most max entries. An entry expires ttl after it was last
// put (never, if ttl is 0). When a put finds the map full, expired entries
// are dropped first, then the one put longest ago. Evicted entries, and
// expired ones found by a read, are passed to OnEvict (if set) outside the
// lock. Safe for concurrent use.
type Map[K comparable, V any] struct {
	max int
	ttl time.Duration
	// OnEvict, if set before first use, is told of every entry removed
	// other than by Delete.
	OnEvict func(K, V)

	mu sync.Mutex
	m  map[K]entry[V]
}

type entry[V any] struct {
	v  V
	at time.Time
}

// New returns a map of at most max entries (at least 1) that expire after
// ttl.
func New[K comparable, V any](max int, ttl time.Duration) *Map[K, V] {
	return &Map[K, V]{max: maxInt(max, 1), ttl: ttl, m: make(map[K]entry[V])}
}

// Get returns k's value, unless it is absent or expired.
func (m *Map[K, V]) Get(k K) (V, bool) {
	m.mu.Lock()
	e, ok := m.m[k]
	expired := ok && m.expired(e, time.Now())
	if expired {
		delete(m.m, k)
	}
	m.mu.Unlock()
	if expired {
		m.evicted(k, e.v)
	}
	if !ok || expired {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put sets k to v and restarts its expiry.
func (m *Map[K, V]) Put(k K, v V) {
	m.Update(k, func(V, bool) V { return v })
}

// PutIfAbsent sets k to v unless k holds an unexpired value; it reports
// whether it set it.
func (m *Map[K, V]) PutIfAbsent(k K, v V) bool {
	set := false
	m.Update(k, func(old V, found bool) V {
		if found {
			return old
		}
		set = true
		return v
	})
	return set
}

// Update sets k to f(old, found), found false when k is absent or expired,
// and restarts its expiry. f runs under the map's lock: keep it short.
func (m *Map[K, V]) Update(k K, f func(old V, found bool) V) V {
	now := time.Now()
	var gone []K
	var goneV []V
	m.mu.Lock()
	e, ok := m.m[k]
	if ok && m.expired(e, now) {
		gone, goneV = append(gone, k), append(goneV, e.v)
		delete(m.m, k)
		ok = false
	}
	if !ok && len(m.m) >= m.max {
		gone, goneV = m.makeRoom(now, gone, goneV)
	}
	if !ok {
		var zero V
		e.v = zero
	}
	v := f(e.v, ok)
	m.m[k] = entry[V]{v: v, at: now}
	m.mu.Unlock()
	for i := range gone {
		m.evicted(gone[i], goneV[i])
	}
	return v
}

// Delete removes k (without telling OnEvict).
func (m *Map[K, V]) Delete(k K) {
	m.mu.Lock()
	delete(m.m, k)
	m.mu.Unlock()
}

// Len counts the entries held, expired ones not yet dropped included.
func (m *Map[K, V]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

// makeRoom drops the expired entries, or else the oldest one; mu is held.
func (m *Map[K, V]) makeRoom(now time.Time, gone []K, goneV []V) ([]K, []V) {
	var (
		oldest  K
		oldestT time.Time
		first   = true
	)
	for k, e := range m.m {
		if m.expired(e, now) {
			gone, goneV = append(gone, k), append(goneV, e.v)
			delete(m.m, k)
			continue
		}
		if first || e.at.Before(oldestT) {
			oldest, oldestT, first = k, e.at, false
		}
	}
	if len(m.m) >= m.max && !first {
		gone, goneV = append(gone, oldest), append(goneV, m.m[oldest].v)
		delete(m.m, oldest)
	}
	return gone, goneV
}

func (m *Map[K, V]) expired(e entry[V], now time.Time) bool {
	return m.ttl > 0 && now.Sub(e.at) >= m.ttl
}

func (m *Map[K, V]) evicted(k K, v V) {
	if m.OnEvict != nil {
		m.OnEvict(k, v)
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
