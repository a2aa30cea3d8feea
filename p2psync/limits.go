package p2psync

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"golang.org/x/time/rate"

	"github.com/headersync/headersync/p2psync/peers"
)

// go-header's ExchangeServer answers every request it is sent, each on its
// own goroutine and each up to 512 headers read from the store: one peer
// sending thousands of requests at once would take the server's CPU and
// memory from everyone else. The service therefore hands the server a host
// whose SetStreamHandler puts a limiter in front of the server's handler:
// a request over its peer's rate or concurrency, or over the server's total
// concurrency, is refused at once (the stream is reset, which an honest
// client treats as a failed request and retries elsewhere or later).

// Limits bound what the exchange server serves.
type Limits struct {
	// Concurrent is the most requests served at once, from all peers.
	Concurrent int
	// PerPeerConcurrent is the most requests served at once to one peer. A
	// catching-up headersync node keeps about a dozen in flight.
	PerPeerConcurrent int
	// PerPeerRate and PerPeerBurst bound one peer's requests per second. A
	// catching-up headersync node sends a few hundred a second.
	PerPeerRate  float64
	PerPeerBurst int
}

// DefaultLimits serve an honest catch-up at full speed and cap a flood.
func DefaultLimits() Limits {
	return Limits{Concurrent: 64, PerPeerConcurrent: 16, PerPeerRate: 1000, PerPeerBurst: 500}
}

// requestLimiter admits or refuses exchange requests.
type requestLimiter struct {
	lim     Limits
	onLimit func(p peer.ID, why string) // called for each refusal
	work    *inflight                   // the service's in-flight work

	global chan struct{} // one token per request being served

	mu    sync.Mutex
	peers map[peer.ID]*peerQuota

	refused atomic.Uint64
}

type peerQuota struct {
	inflight int
	bucket   *rate.Limiter
	seen     time.Time
}

func newRequestLimiter(l Limits, work *inflight, onLimit func(peer.ID, string)) *requestLimiter {
	return &requestLimiter{lim: l, work: work, onLimit: onLimit, global: make(chan struct{}, l.Concurrent), peers: make(map[peer.ID]*peerQuota)}
}

// admit reserves a slot for a request from p, or says why not.
func (l *requestLimiter) admit(p peer.ID) (bool, string) {
	l.mu.Lock()
	q, ok := l.peers[p]
	if !ok {
		l.prune()
		q = &peerQuota{bucket: rate.NewLimiter(rate.Limit(l.lim.PerPeerRate), l.lim.PerPeerBurst)}
		l.peers[p] = q
	}
	q.seen = time.Now()
	switch {
	case q.inflight >= l.lim.PerPeerConcurrent:
		l.mu.Unlock()
		return false, "too many requests in flight"
	case !q.bucket.Allow():
		l.mu.Unlock()
		return false, "request rate exceeded"
	}
	q.inflight++
	l.mu.Unlock()
	select {
	case l.global <- struct{}{}:
		return true, ""
	default:
		l.release(p)
		return false, "server busy"
	}
}

// release frees a slot taken by admit (the global one only if taken).
func (l *requestLimiter) release(p peer.ID) {
	l.mu.Lock()
	if q, ok := l.peers[p]; ok && q.inflight > 0 {
		q.inflight--
	}
	l.mu.Unlock()
}

// prune forgets idle peers once there are many; called with mu held.
func (l *requestLimiter) prune() {
	if len(l.peers) < peers.MaxTracked {
		return
	}
	for p, q := range l.peers {
		if q.inflight == 0 && time.Since(q.seen) > time.Minute {
			delete(l.peers, p)
		}
	}
}

// wrap puts the limiter, and the service's in-flight tracking, in front of
// handler.
func (l *requestLimiter) wrap(handler network.StreamHandler) network.StreamHandler {
	return func(s network.Stream) {
		if !l.work.enter(s) {
			_ = s.Reset() // the service is stopping
			return
		}
		defer l.work.leave(s)
		p := s.Conn().RemotePeer()
		if ok, why := l.admit(p); !ok {
			l.refused.Add(1)
			_ = s.Reset()
			l.onLimit(p, why)
			return
		}
		defer func() {
			<-l.global
			l.release(p)
		}()
		handler(s)
	}
}

// limitedHost is the host the exchange server is given: it registers the
// server's handler behind the limiter.
type limitedHost struct {
	host.Host
	lim *requestLimiter
}

func (h limitedHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, h.lim.wrap(handler))
}

func (h limitedHost) SetStreamHandlerMatch(pid protocol.ID, match func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(pid, match, h.lim.wrap(handler))
}
