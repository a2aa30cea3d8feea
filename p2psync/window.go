package p2psync

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/headersync/headersync/p2psync/peers"
)

// How deep the fetcher's pipeline runs. On loopback a request answers in a
// fraction of a millisecond and two ranges ahead keep the cores busy; 100 ms
// away, the syncer would wait a round trip for every range it asks for
// unless dozens are in flight. Both depths adapt to what is measured, and
// both are capped, so that memory stays bounded whatever the round trip.
const (
	// minAhead and maxAhead bound the ranges (of up to 512 headers)
	// fetched ahead of the syncer. At maxAhead, about 32 768 decoded
	// headers wait in memory: some 25 MiB of signed headers.
	minAhead = 2
	maxAhead = 64
	// A peer's window of requests in flight starts at windowStart, grows
	// by one per answer up to windowMax, and halves, to at least
	// windowMin, on a failure (a timeout, a reset: perhaps its server's
	// limits). windowMax stays within what the project's server admits
	// from one peer (exserver's PerPeerConcurrent); go-header's server has
	// no such limit.
	windowStart = 8
	windowMin   = 2
	windowMax   = 48
	// ewmaWeight is the weight of a new sample in the moving averages.
	ewmaWeight = 0.2
)

// pacing decides how many ranges to fetch ahead: enough to cover one round
// trip at the rate the syncer takes ranges, plus slack. If the syncer takes
// a range every interval and a request takes latency, latency/interval
// ranges must be in flight for the syncer never to wait. While the pipeline
// is too shallow the syncer waits and the interval is latency/depth, so the
// depth grows by the slack each step until the syncer, not the network,
// sets the pace.
type pacing struct {
	mu       sync.Mutex
	latency  time.Duration // moving average of a range request's round trip
	interval time.Duration // moving average between two of the syncer's calls
	last     time.Time     // the syncer's last call
}

// called records a call from the syncer at now.
func (p *pacing) called(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.last.IsZero() {
		p.interval = ewma(p.interval, now.Sub(p.last))
	}
	p.last = now
}

// answered records a range request's round trip.
func (p *pacing) answered(took time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = ewma(p.latency, took)
}

// ahead is how many ranges to keep in flight beyond the syncer.
func (p *pacing) ahead() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.latency <= 0 || p.interval <= 0 {
		return minAhead
	}
	n := int(p.latency/p.interval) + minAhead
	return max(minAhead, min(n, maxAhead))
}

func ewma(avg, sample time.Duration) time.Duration {
	if avg == 0 {
		return sample
	}
	return avg + time.Duration(ewmaWeight*float64(sample-avg))
}

// peerWindows holds each peer's window of requests in flight and its round
// trip. Safe for concurrent use.
type peerWindows struct {
	mu      sync.Mutex
	peers   map[peer.ID]*window
	changed chan struct{} // closed, and replaced, when a request ends
}

type window struct {
	inflight, limit int
	latency         time.Duration // moving average of its round trips
	seen            time.Time
}

// get returns p's window, making it if needed; mu held.
func (w *peerWindows) get(p peer.ID) *window {
	if w.peers == nil {
		w.peers = make(map[peer.ID]*window)
		w.changed = make(chan struct{})
	}
	win, ok := w.peers[p]
	if !ok {
		if len(w.peers) >= peers.MaxTracked {
			w.forgetIdle()
		}
		win = &window{limit: windowStart}
		w.peers[p] = win
	}
	return win
}

// forgetIdle drops the windows of peers with nothing in flight; mu held.
func (w *peerWindows) forgetIdle() {
	for p, win := range w.peers {
		if win.inflight == 0 && time.Since(win.seen) > time.Minute {
			delete(w.peers, p)
		}
	}
}

// acquire waits for room in p's window and takes it. The func it returns
// gives the room back, saying whether the request was answered and how
// long it took.
func (w *peerWindows) acquire(ctx context.Context, p peer.ID) (func(ok bool, took time.Duration), error) {
	w.mu.Lock()
	for {
		win := w.get(p)
		if win.inflight < win.limit {
			win.inflight++
			win.seen = time.Now()
			w.mu.Unlock()
			return func(ok bool, took time.Duration) { w.release(p, ok, took) }, nil
		}
		changed := w.changed
		w.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		w.mu.Lock()
	}
}

func (w *peerWindows) release(p peer.ID, ok bool, took time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	win := w.get(p)
	win.inflight--
	if ok {
		win.limit = min(win.limit+1, windowMax)
		win.latency = ewma(win.latency, took)
	} else {
		win.limit = max(win.limit/2, windowMin)
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// earliest returns the peer of ps expected to answer a new request first:
// the one whose queue, its requests in flight beyond its window plus this
// one, times its round trip, is shortest. A peer not asked yet counts as
// fast. Ties go to the i-th in rotation.
func (w *peerWindows) earliest(ps []peer.ID, i int) peer.ID {
	w.mu.Lock()
	defer w.mu.Unlock()
	best, bestCost := -1, time.Duration(0)
	for k := range ps {
		j := (i + k) % len(ps)
		win := w.get(ps[j])
		rounds := time.Duration(1 + win.inflight/max(win.limit, 1))
		cost := rounds * max(win.latency, time.Microsecond)
		if best < 0 || cost < bestCost {
			best, bestCost = j, cost
		}
	}
	return ps[best]
}
