package p2psync

import (
	"context"
	"sync"

	"github.com/libp2p/go-libp2p/core/network"
)

// inflight tracks the work peers start in a service — server handlers and
// gossip validations, which go-header's Stop methods do not wait for — so
// that Stop can end it before the store beneath it closes.
type inflight struct {
	mu      sync.Mutex
	closed  bool
	wg      sync.WaitGroup
	streams map[network.Stream]struct{}
}

// enter admits one piece of work (with its stream, if any) unless closed.
func (w *inflight) enter(s network.Stream) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.wg.Add(1)
	if s != nil {
		if w.streams == nil {
			w.streams = make(map[network.Stream]struct{})
		}
		w.streams[s] = struct{}{}
	}
	return true
}

func (w *inflight) leave(s network.Stream) {
	if s != nil {
		w.mu.Lock()
		delete(w.streams, s)
		w.mu.Unlock()
	}
	w.wg.Done()
}

// close admits nothing more, resets the streams still being served so their
// handlers return, and waits for all work to end.
func (w *inflight) close() {
	w.mu.Lock()
	w.closed = true
	for s := range w.streams {
		_ = s.Reset()
	}
	w.mu.Unlock()
	w.wg.Wait()
}

// stop is close, as a component's stop.
func (w *inflight) stop(context.Context) error {
	w.close()
	return nil
}
