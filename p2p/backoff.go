package p2p

import (
	"context"
	"time"
)

// backoff yields exponentially growing delays between min and max.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

// next returns the delay before the next attempt: min after a reset, then
// doubling up to max.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

// signal wakes one waiting loop; raising it again before the loop has woken
// is a no-op, so raisers never block.
type signal chan struct{}

func newSignal() signal { return make(signal, 1) }

func (s signal) raise() {
	select {
	case s <- struct{}{}:
	default:
	}
}

// wait blocks for d, or until s is raised, or until ctx is done. It reports
// false only when ctx is done.
func wait(ctx context.Context, d time.Duration, s signal) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	case <-s:
		return true
	}
}
