package p2p

import (
	"context"
	"time"

	"github.com/headersync/headersync/internal/backoff"
)

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
	return backoff.Wait(ctx, d, s)
}
