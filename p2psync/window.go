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
	// fetched ahead of the syncer. At maxAhead, about 49 000 decoded
	// headers wait in memory; a catch-up 100 ms from its peer measured a
	// peak heap of 70-87 MiB, against 20-50 MiB on loopback.
	minAhead = 2
	maxAhead = 96
	// A peer's window of requests in flight starts at windowStart, grows
	// by one per answer up to windowMax, and halves, to at least
	// windowMin, on a failure (a timeout, a reset: perhaps its server's
	// limits). windowMax stays within what the project's server admits
	// from one peer (exserver's PerPeerConcurrent); go-header's server has
	// no such limit.
	windowStart = 32
	windowMin   = 2
	windowMax   = 128
	// ewmaWeight is the weight of a new sample in the moving averages.
	ewmaWeight = 0.2
)

// pacing decides how many ranges to fetch ahead: as many as the syncer
// could take during one round trip if every range were there when it asked,
// plus slack. Between two calls the syncer appends what it got (its own
// time, measured from one call's return to the next call); a request takes
// its round trip. With a range every `busy` and requests taking `latency`,
// latency/busy ranges must be in flight for the syncer never to wait.
//
// The round trip taken is the shortest of the recent ones: what the link
// costs, without the time requests queue at the server. The queueing is
// the pipeline's own doing, and counting it would deepen the pipeline,
// which queues more (on loopback, a pipeline at its cap and a heap of
// headers waiting, for nothing).
type pacing struct {
	mu       sync.Mutex
	recent   [latencySamples]time.Duration // the last range requests' round trips
	next     int                           // where the next sample goes
	busy     time.Duration                 // moving average of the syncer's time between calls
	returned time.Time                     // when the last call returned
}

// assumedBusy is the syncer's time per range before it is measured: about
// what appending 512 headers takes here.
const assumedBusy = time.Millisecond

// latencySamples is how many round trips the pacing keeps.
const latencySamples = 32

// called records a call from the syncer at now.
func (p *pacing) called(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.returned.IsZero() {
		p.busy = ewma(p.busy, max(now.Sub(p.returned), time.Microsecond))
	}
}

// returning records that a call returns at now.
func (p *pacing) returning(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.returned = now
}

// answered records a range request's round trip.
func (p *pacing) answered(took time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recent[p.next] = max(took, time.Microsecond)
	p.next = (p.next + 1) % latencySamples
}

// latency is the shortest recent round trip, 0 before any; mu held.
func (p *pacing) latency() time.Duration {
	var least time.Duration
	for _, d := range p.recent {
		if d > 0 && (least == 0 || d < least) {
			least = d
		}
	}
	return least
}

// due is about when the syncer will ask for the k-th range ahead of it, if
// the ranges before it are there: k times its time per range.
func (p *pacing) due(k int) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Duration(k) * p.busy
}

// ahead is how many ranges to keep in flight beyond the syncer.
func (p *pacing) ahead() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	latency := p.latency()
	if latency <= 0 {
		return minAhead
	}
	busy := p.busy
	if busy <= 0 {
		busy = assumedBusy // the first ranges: as deep as a round trip needs at once
	}
	n := int(latency/busy) + minAhead
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
	waiting         int           // requests waiting for room
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
		win.waiting++
		w.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			w.mu.Lock()
			w.get(p).waiting--
			w.mu.Unlock()
			return nil, ctx.Err()
		}
		w.mu.Lock()
		w.get(p).waiting--
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

// pick returns the peer of ps to ask for a chunk the syncer needs in about
// due. A peer's expected answer time is its round trip times the rounds
// its window needs to reach a new request, those waiting for room
// included; a peer not measured yet counts as the average of those that
// are (as fast as any, when none is). Of the peers expected to answer in time, the slowest is asked, so
// that the fast ones stay free for the chunks the syncer needs next; if
// none is (due 0: needed now), the one expected first. A distant peer thus
// gets work in proportion to what it can deliver in time, and never the
// chunk the syncer is about to wait for. Ties go to the i-th in rotation.
func (w *peerWindows) pick(ps []peer.ID, i int, due time.Duration) peer.ID {
	w.mu.Lock()
	defer w.mu.Unlock()
	var sum time.Duration
	measured := 0
	for _, p := range ps {
		if l := w.get(p).latency; l > 0 {
			sum, measured = sum+l, measured+1
		}
	}
	unknown := time.Microsecond
	if measured > 0 {
		unknown = sum / time.Duration(measured)
	}
	first, firstCost := -1, time.Duration(0)
	inTime, inTimeCost := -1, time.Duration(0)
	for k := range ps {
		j := (i + k) % len(ps)
		win := w.get(ps[j])
		rounds := time.Duration(1 + (win.inflight+win.waiting)/max(win.limit, 1))
		latency := win.latency
		if latency == 0 {
			latency = unknown
		}
		cost := rounds * max(latency, time.Microsecond)
		if first < 0 || cost < firstCost {
			first, firstCost = j, cost
		}
		if cost <= due && (inTime < 0 || cost > inTimeCost) {
			inTime, inTimeCost = j, cost
		}
	}
	if inTime >= 0 {
		return ps[inTime]
	}
	return ps[first]
}
