// Package every rate-limits repeated log lines: a failure that recurs on
// every attempt, a peer refused on every request, a flood of bad gossip.
// Each is logged at most once per interval, overall (Interval) or per key
// (Keyed, whose memory is bounded).
package every

import (
	"sync/atomic"
	"time"

	"github.com/headersync/headersync/internal/boundedmap"
)

// Interval says yes at most once per period. The zero value with Period set
// says yes the first time. Safe for concurrent use.
type Interval struct {
	Period time.Duration
	last   atomic.Int64 // unix ns of the last yes; 0: never
}

// Allow reports whether the period has passed since the last yes, and if so
// counts this as the new yes.
func (e *Interval) Allow() bool {
	now := time.Now().UnixNano()
	last := e.last.Load()
	if last != 0 && now-last < int64(e.Period) {
		return false
	}
	return e.last.CompareAndSwap(last, now)
}

// Keyed says yes at most once per period for each key, remembering at most
// max keys (the stalest are forgotten first). Safe for concurrent use.
type Keyed[K comparable] struct {
	period time.Duration
	last   *boundedmap.Map[K, struct{}]
}

// NewKeyed returns a per-key limiter.
func NewKeyed[K comparable](period time.Duration, max int) *Keyed[K] {
	return &Keyed[K]{period: period, last: boundedmap.New[K, struct{}](max, period)}
}

// Allow reports whether k may be logged now.
func (e *Keyed[K]) Allow(k K) bool {
	if _, seen := e.last.Get(k); seen {
		return false
	}
	return e.last.PutIfAbsent(k, struct{}{})
}
