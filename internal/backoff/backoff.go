// Package backoff paces retries: exponentially growing delays between a
// floor and a ceiling, and a wait that ends early on a signal or on ctx.
// The seed dialler, the first-header loop and the range retries all use it,
// each with its own bounds.
package backoff

import (
	"context"
	"time"
)

// Backoff yields delays that start at Min and double up to Max. The zero
// value of cur means "after a reset". It is not safe for concurrent use:
// each retry loop owns its own.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// New returns a backoff from min to max (max is raised to min if lower).
func New(min, max time.Duration) Backoff {
	return Backoff{Min: min, Max: maxDur(min, max)}
}

// Next returns the delay before the next attempt: Min after a reset, then
// twice the previous delay, at most Max.
func (b *Backoff) Next() time.Duration {
	if b.cur == 0 {
		b.cur = b.Min
	} else {
		b.cur = min(2*b.cur, b.Max)
	}
	return b.cur
}

// Reset makes the next delay Min again.
func (b *Backoff) Reset() { b.cur = 0 }

// Wait blocks for d, until wake yields (a nil channel never does), or until
// ctx ends. It reports false only when ctx ended.
func Wait(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	case <-wake:
		return true
	}
}

func maxDur(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}
