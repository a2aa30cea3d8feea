package p2psync

import (
	"context"
	"sync"
)

// inflight tracks the work peers start in a service that go-header does not
// wait for when it stops — gossip validations — so that Stop can end it
// before the store beneath it closes.
type inflight struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// enter admits one piece of work unless closed.
func (w *inflight) enter() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.wg.Add(1)
	return true
}

func (w *inflight) leave() { w.wg.Done() }

// stop admits nothing more and waits for the work in progress to end.
func (w *inflight) stop(context.Context) error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.wg.Wait()
	return nil
}
