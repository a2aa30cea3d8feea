package exserver

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"
)

// go-header's ExchangeServer answers every request it is sent, each on its
// own goroutine and each up to 512 headers: one peer sending thousands of
// requests at once would take the server's CPU and memory from everyone
// else. So a request over its peer's rate or concurrency, or over the
// server's total concurrency, is refused at once: the stream is reset, which
// an honest client treats as a failed request and retries later or
// elsewhere. What the limiter remembers per peer is bounded (maxPeers) and
// forgotten once the peer has been idle for a while (peerIdle).

// ErrInvalidLimits is returned for Limits that cannot serve anyone.
var ErrInvalidLimits = errors.New("invalid exchange server limits")

// Limits bound what the server serves.
type Limits struct {
	// Concurrent is the most requests served at once, from all peers.
	Concurrent int
	// PerPeerConcurrent is the most requests served at once to one peer. A
	// catching-up headersync node keeps about a dozen in flight.
	PerPeerConcurrent int
	// PerPeerRate and PerPeerBurst bound one peer's requests per second. A
	// catching-up headersync node on a fast link sends a few thousand a
	// second (a chunk of 128 headers, or an anchor, per request).
	PerPeerRate  float64
	PerPeerBurst int
}

// DefaultLimits serve an honest catch-up at full speed and cap a flood.
func DefaultLimits() Limits {
	return Limits{Concurrent: 256, PerPeerConcurrent: 128, PerPeerRate: 5000, PerPeerBurst: 2500}
}

// Validate says which field, if any, admits no request at all.
func (l Limits) Validate() error {
	check := func(name string, v float64) error {
		if v > 0 {
			return nil
		}
		return fmt.Errorf("%w: %s is %v, must be above 0", ErrInvalidLimits, name, v)
	}
	return errors.Join(
		check("Concurrent", float64(l.Concurrent)),
		check("PerPeerConcurrent", float64(l.PerPeerConcurrent)),
		check("PerPeerRate", l.PerPeerRate),
		check("PerPeerBurst", float64(l.PerPeerBurst)),
	)
}

const (
	// maxPeers bounds the peers the limiter remembers.
	maxPeers = 1024
	// peerIdle is how long a peer with nothing in flight is remembered: its
	// bucket has long refilled by then, and its refusals may be logged again.
	peerIdle = time.Minute
	// logEvery is how often one peer's refusals are logged.
	logEvery = time.Minute
)

// refusal says why a request was refused, and whether to log it now.
type refusal struct {
	why string
	log bool
}

// limiter admits or refuses requests. The zero value is not usable.
type limiter struct {
	lim   Limits
	now   func() time.Time
	total chan struct{} // one token per request being served

	mu      sync.Mutex
	peers   map[peer.ID]*quota
	fullLog time.Time // when "too many peers" was last logged

	refused atomic.Uint64
}

type quota struct {
	inflight int
	bucket   *rate.Limiter
	seen     time.Time // last request
	logged   time.Time // last refusal logged
}

func newLimiter(l Limits) *limiter {
	return &limiter{lim: l, now: time.Now, total: make(chan struct{}, l.Concurrent), peers: make(map[peer.ID]*quota)}
}

// admit takes a slot for a request from p; the caller must release it. If
// the request is refused, it says why.
func (l *limiter) admit(p peer.ID) (bool, refusal) {
	l.mu.Lock()
	now := l.now()
	q, ok := l.peers[p]
	if !ok {
		if !l.makeRoom(now) {
			r := refusal{why: "too many peers", log: now.Sub(l.fullLog) >= logEvery}
			if r.log {
				l.fullLog = now
			}
			l.mu.Unlock()
			l.refused.Add(1)
			return false, r
		}
		q = &quota{bucket: rate.NewLimiter(rate.Limit(l.lim.PerPeerRate), l.lim.PerPeerBurst)}
		l.peers[p] = q
	}
	q.seen = now
	var why string
	switch {
	case q.inflight >= l.lim.PerPeerConcurrent:
		why = "too many requests in flight"
	case !q.bucket.AllowN(now, 1):
		why = "request rate exceeded"
	default:
		select {
		case l.total <- struct{}{}:
			q.inflight++
			l.mu.Unlock()
			return true, refusal{}
		default:
			why = "server busy"
		}
	}
	r := refusal{why: why, log: now.Sub(q.logged) >= logEvery}
	if r.log {
		q.logged = now
	}
	l.mu.Unlock()
	l.refused.Add(1)
	return false, r
}

// release frees the slots admit took for p.
func (l *limiter) release(p peer.ID) {
	<-l.total
	l.mu.Lock()
	if q, ok := l.peers[p]; ok && q.inflight > 0 {
		q.inflight--
	}
	l.mu.Unlock()
}

// makeRoom makes room for one more peer: it forgets peers idle for peerIdle
// and, if that is not enough, the least recently seen peer with nothing in
// flight. False if every remembered peer has a request in flight. Called
// with mu held.
func (l *limiter) makeRoom(now time.Time) bool {
	if len(l.peers) < maxPeers {
		return true
	}
	var (
		oldest   peer.ID
		oldestAt time.Time
	)
	for p, q := range l.peers {
		if q.inflight > 0 {
			continue
		}
		if now.Sub(q.seen) >= peerIdle {
			delete(l.peers, p)
			continue
		}
		if oldest == "" || q.seen.Before(oldestAt) {
			oldest, oldestAt = p, q.seen
		}
	}
	if len(l.peers) < maxPeers {
		return true
	}
	if oldest == "" {
		return false
	}
	delete(l.peers, oldest)
	return true
}

// tracked is how many peers the limiter remembers.
func (l *limiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.peers)
}
