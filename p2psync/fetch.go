package p2psync

import (
	"bytes"
	"log/slog"
	"sync"

	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/headersync/headersync/internal/backoff"
	"github.com/headersync/headersync/internal/every"
	"github.com/headersync/headersync/p2psync/peers"
	"github.com/headersync/headersync/types"
	"time"

	"github.com/celestiaorg/go-header"
	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/sync/errgroup"
)

// go-header's syncer asks for up to 512 headers at a time, one range after
// the other. Its Exchange splits a range across peers but keeps one request
// per peer in flight and validates each answer on the goroutine that read
// it, so with one peer the signature checks — the cost of a catch-up — run
// on one core; and it cannot tell which peer sent a header of the wrong
// height, so such a peer is never banned and keeps spoiling ranges.
//
// The syncer's getter (fetcher) therefore fetches each range as chunks of RequestSize,
// concurrently, each from one peer it can hold to account (fetchChunk), and
// keeps rangesAhead ranges in flight beyond the one the syncer asked for. A
// chunk is checked against the header just before it, its anchor. For every
// chunk but the syncer's first, the anchor is fetched first (one small
// request) and trusted only once it turns out to be the very header the
// verified chunk before it ended with; a chunk whose anchor does not line up
// is fetched again from the verified one. By induction from the trusted
// header the syncer gives, everything returned is one verified chain, which
// the store verifies once more as it appends. A range the syncer asked for
// is retried until it arrives (see GetRangeByHeight); go-header's own fetch
// is used only while no peer is known to serve the protocol (fetchRange).
//
// Checking each header's signature was two thirds of a catch-up's CPU, and
// capped it below the rate at which the cores can check signatures. Header
// h+1 commits to the hash and the signature of h, and its own signature
// covers both, so each answer is authenticated as a whole (validateChain):
// the signature of its highest header, then hash links down, then its
// lowest header against the header before it. Anchors get no signature
// check: one is trusted only once it is byte for byte the verified top of
// the chunk below, and only when it is not is its sender's answer checked
// in full, to tell a forgery (a ban) from an equivocating sequencer.

// fetchConfig is the fetcher's share of Config.
type fetchConfig struct {
	RequestSize        uint64        // headers per request
	RequestTimeout     time.Duration // one request to one peer
	RetryMin, RetryMax time.Duration // between two attempts at a range the syncer asked for
}

// fetcher is the syncer's view of the network (a header.Getter): ranges as
// concurrent linked-verified chunks, the network head by a vote of the
// peers, lookups through go-header's Exchange. It knows the syncer only as
// target, the height the syncer is syncing to.
type fetcher[H Header[H]] struct {
	header.Getter[H] // go-header's Exchange: lookups, and ranges while no peer is known to serve
	peers            *peers.Client[H]
	genesis          *types.Genesis
	target           func() uint64
	cfg              fetchConfig
	log              *slog.Logger
	failLog          every.Interval // range failures, once a minute

	life  context.Context // ends when close is called
	end   context.CancelFunc
	calls sync.WaitGroup // calls from the syncer in progress

	mu     sync.Mutex
	ahead  map[uint64]*ahead[H] // ranges fetched ahead, by first height
	closed bool
	wg     sync.WaitGroup // fetches ahead
	slots  chan struct{}  // one per request in flight
}

func newFetcher[H Header[H]](exchange header.Getter[H], pc *peers.Client[H], g *types.Genesis, target func() uint64, cfg fetchConfig, log *slog.Logger) *fetcher[H] {
	life, end := context.WithCancel(context.Background())
	return &fetcher[H]{
		Getter: exchange, peers: pc, genesis: g, target: target, cfg: cfg, log: log,
		failLog: every.Interval{Period: time.Minute},
		life:    life, end: end,
		ahead: make(map[uint64]*ahead[H]), slots: make(chan struct{}, maxInFlight),
	}
}

// enter admits one call from the syncer, with a context that also ends on
// close. go-header's syncer does not wait for its own calls when it stops;
// close does.
func (g *fetcher[H]) enter(ctx context.Context) (context.Context, func(), error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, nil, ErrNotRunning
	}
	g.calls.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(g.life, cancel)
	return ctx, func() { stop(); cancel(); g.calls.Done() }, nil
}

// Head returns the highest head the serving peers agree is signed by the
// sequencer and verifies against the trusted head given, if any.
func (g *fetcher[H]) Head(ctx context.Context, opts ...header.HeadOption[H]) (H, error) {
	ctx, done, err := g.enter(ctx)
	if err != nil {
		var zero H
		return zero, err
	}
	defer done()
	var params header.HeadParams[H]
	for _, opt := range opts {
		opt(&params)
	}
	return g.peers.Head(ctx, params.TrustedHead, func(h H) error { return checkSequencer(g.genesis, h) })
}

// rangesAhead is how many ranges the getter fetches ahead of the syncer.
const rangesAhead = 2

// errAnchorMismatch: a chunk does not extend an anchor not yet verified.
// Either the anchor or the chunk is wrong; the chunk is fetched again from a
// verified anchor, which settles it.
var errAnchorMismatch = fmt.Errorf("chunk does not extend its anchor (%w)", peers.ErrInconclusive)

// ahead is a range fetched ahead of the syncer's request.
type ahead[H Header[H]] struct {
	start, to uint64 // the range [start, to)
	cancel    context.CancelFunc
	done      chan struct{}
	anchor    H       // the header at start-1 the range was fetched against
	anchorBy  peer.ID // who sent anchor; empty when it was verified
	hs        []H
	err       error
}

// GetRangeByHeight returns the headers (from.Height(), to), verified.
//
// It keeps trying until it has them or ctx ends. The syncer retries a
// failed sync only when a new head arrives: on a quiet chain, or with the
// sequencer down, a range given up on would leave the node behind for good.
// Every attempt asks the peers connected at that moment, so peers that
// join later are used.
func (g *fetcher[H]) GetRangeByHeight(ctx context.Context, from H, to uint64) ([]H, error) {
	ctx, done, err := g.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	hs, err := g.takeAhead(ctx, from, to)
	if err != nil {
		return nil, err
	}
	retry := backoff.New(g.cfg.RetryMin, g.cfg.RetryMax)
	for hs == nil {
		if hs, err = g.fetchRange(ctx, from, to, true); err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		pause := retry.Next()
		if g.failLog.Allow() {
			g.log.Warn("range fetch failed; retrying", "from", from.Height()+1, "to", to-1, "err", err, "retry_in", pause)
		}
		if !backoff.Wait(ctx, pause, nil) {
			return nil, ctx.Err()
		}
	}
	g.fetchAhead(hs[len(hs)-1])
	return hs, nil
}

// takeAhead returns the range (from, to) if it was fetched ahead and is
// anchored on from; nil if it was not. Ranges that can no longer be asked
// for are cancelled.
func (g *fetcher[H]) takeAhead(ctx context.Context, from H, to uint64) ([]H, error) {
	start := from.Height() + 1
	g.mu.Lock()
	var hit *ahead[H]
	for s, a := range g.ahead {
		switch {
		case s == start && a.to == to:
			hit = a
			delete(g.ahead, s)
		case s <= start:
			a.cancel()
			delete(g.ahead, s)
		}
	}
	g.mu.Unlock()
	if hit == nil {
		return nil, nil
	}
	select {
	case <-hit.done:
	case <-ctx.Done():
		hit.cancel()
		return nil, ctx.Err()
	}
	if !hit.anchor.IsZero() && !sameHeader(hit.anchor, from) {
		g.judgeAnchor(ctx, hit.anchor, from, hit.anchorBy)
		return nil, nil // fetch it again, anchored on from
	}
	if hit.err != nil {
		return nil, nil
	}
	return hit.hs, nil
}

// fetchAhead starts fetching the ranges after last, up to rangesAhead of
// them and not beyond the syncer's target.
func (g *fetcher[H]) fetchAhead(last H) {
	target := g.target()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	start := last.Height() + 1
	for i := 0; i < rangesAhead && start <= target; i++ {
		to := min(start+header.MaxRangeRequestSize, target+1)
		if _, ok := g.ahead[start]; !ok {
			ctx, cancel := context.WithCancel(g.life)
			a := &ahead[H]{start: start, to: to, cancel: cancel, done: make(chan struct{})}
			if i == 0 {
				a.anchor = last
			}
			g.ahead[start] = a
			g.wg.Add(1)
			go g.runAhead(ctx, a)
		}
		start = to
	}
}

func (g *fetcher[H]) runAhead(ctx context.Context, a *ahead[H]) {
	defer g.wg.Done()
	defer close(a.done)
	verified := !a.anchor.IsZero()
	if !verified {
		if a.anchor, a.anchorBy, a.err = g.fetchAnchor(ctx, a.start-1, 0); a.err != nil {
			return
		}
	}
	// A range that fails is fetched again when the syncer asks for it.
	a.hs, a.err = g.fetchRange(ctx, a.anchor, a.to, verified)
}

// close ends every call and fetch in progress and waits for them; none
// starts after.
func (g *fetcher[H]) close() {
	g.mu.Lock()
	g.closed = true
	for s, a := range g.ahead {
		a.cancel()
		delete(g.ahead, s)
	}
	g.mu.Unlock()
	g.end()
	g.wg.Wait()
	g.calls.Wait()
}

// fetchRange fetches (from.Height(), to) as concurrent chunks.
//
// Only when no connected peer is known to serve the exchange yet (identify
// has not reported its protocols) does it try go-header's own fetch, which
// tracks every connection, and then only for a bounded time: go-header's
// session waits for a peer until its context ends, and the syncer's context
// never does, so an unbounded fallback could hang the syncer for good.
func (g *fetcher[H]) fetchRange(ctx context.Context, from H, to uint64, verified bool) ([]H, error) {
	hs, err := g.parallelRange(ctx, from, to, verified)
	if errors.Is(err, peers.ErrNoServingPeers) && verified && ctx.Err() == nil {
		fctx, cancel := context.WithTimeout(ctx, 2*g.cfg.RequestTimeout)
		defer cancel()
		return g.Getter.GetRangeByHeight(fctx, from, to)
	}
	return hs, err
}

// parallelRange fetches (from.Height(), to) as concurrent chunks.
func (g *fetcher[H]) parallelRange(ctx context.Context, from H, to uint64, verified bool) ([]H, error) {
	size := g.cfg.RequestSize
	first := from.Height() + 1
	if to <= first {
		return nil, fmt.Errorf("empty range (%d, %d)", from.Height(), to)
	}
	n := int((to - first + size - 1) / size)

	// anchors[i] is the header just before chunk i: from, then fetched
	// from anchorFrom[i].
	anchors := make([]H, n)
	anchorFrom := make([]peer.ID, n)
	anchors[0] = from
	grp, gctx := errgroup.WithContext(ctx)
	for i := 1; i < n; i++ {
		grp.Go(func() (err error) {
			anchors[i], anchorFrom[i], err = g.fetchAnchor(gctx, first+uint64(i)*size-1, i)
			return err
		})
	}
	if err := grp.Wait(); err != nil {
		return nil, err
	}

	// Chunks whose anchor does not line up are fetched again below.
	chunks := make([][]H, n)
	grp, gctx = errgroup.WithContext(ctx)
	for i := 0; i < n; i++ {
		end := min(first+uint64(i+1)*size, to)
		grp.Go(func() error {
			hs, err := g.fetchChunk(gctx, anchors[i], end, i == 0 && verified, i)
			if errors.Is(err, errAnchorMismatch) {
				return nil
			}
			chunks[i] = hs
			return err
		})
	}
	if err := grp.Wait(); err != nil {
		return nil, err
	}

	out := make([]H, 0, to-first)
	prev := from
	for i := range chunks {
		if i > 0 && (chunks[i] == nil || !sameHeader(anchors[i], prev)) {
			// The anchor was not the verified header (or the chunk did not
			// extend it): fetch the chunk again from the one that is.
			if !sameHeader(anchors[i], prev) {
				g.judgeAnchor(ctx, anchors[i], prev, anchorFrom[i])
			}
			hs, err := g.fetchChunk(ctx, prev, min(first+uint64(i+1)*size, to), verified, i)
			if err != nil {
				return nil, err
			}
			chunks[i] = hs
		}
		if chunks[i] == nil {
			return nil, fmt.Errorf("range (%d, %d): %w", from.Height(), to, errAnchorMismatch)
		}
		out = append(out, chunks[i]...)
		prev = chunks[i][len(chunks[i])-1]
	}
	return out, nil
}

// maxChunkTries bounds how many answers a chunk may take.
const maxChunkTries = 8

// fetchChunk fetches the headers after anchor up to end, asking serving
// peers in turn (least recently failing first, starting at the i-th). Each
// answer must be headers of exactly the next heights, valid, signed by the
// sequencer and each extending the one before, which validateChain checks
// with the signature of the answer's highest header and the links below it;
// a peer whose answer is not is banned. When anchor is not verified and an
// answer does not extend what came before it from another peer, either may
// be at fault: errAnchorMismatch, and no ban.
func (g *fetcher[H]) fetchChunk(ctx context.Context, anchor H, end uint64, verified bool, i int) ([]H, error) {
	start := anchor.Height() + 1
	out := make([]H, 0, end-start)
	// A break between prev and an answer is the answering peer's fault if
	// prev is verified or came from that same peer.
	prev, prevFrom := anchor, peer.ID("")
	var errs []error
	tried := make(map[peer.ID]bool) // peers that failed this chunk
	for try := 0; uint64(len(out)) < end-start; try++ {
		if try == maxChunkTries {
			return nil, fmt.Errorf("headers %d to %d: %d tries failed: %w", start, end-1, try, errors.Join(errs...))
		}
		p, err := g.peers.Pick(i+try, tried)
		if err != nil {
			return nil, fmt.Errorf("headers %d to %d: %w", start, end-1, errors.Join(append(errs, err)...))
		}
		next := prev.Height() + 1
		hs, err := g.request(ctx, p, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: next}, Amount: end - next})
		if err == nil {
			err = authenticate(hs, p)
		}
		if err == nil {
			// Validate is remembered now: Verify checks only the links.
			err = extends(prev, hs, p, verified || prevFrom == p)
		}
		g.peers.Reputation().Judge(ctx, p, err)
		switch {
		case err == nil:
			out = append(out, hs...)
			prev, prevFrom = hs[len(hs)-1], p
			continue
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, errAnchorMismatch):
			return nil, err
		}
		tried[p] = true
		errs = append(errs, err)
	}
	return out, nil
}

// authenticate validates hs, one peer's answer, as one linked chain
// (validateChain). Every header of it came from from, so any break in it is
// from's fault.
func authenticate[H Header[H]](hs []H, from peer.ID) error {
	if err := validateChain(hs); err != nil {
		return &peers.Fault{Peer: from, Err: fmt.Errorf("headers %d to %d: %w", hs[0].Height(), hs[len(hs)-1].Height(), err)}
	}
	return nil
}

// sameHeader reports whether a and b are byte for byte the same: the same
// header, signature and signer (and, for blocks, data). An equal hash is not
// enough to trust an anchor: the signature is in no header's hash.
func sameHeader[H Header[H]](a, b H) bool {
	ab, errA := a.MarshalBinary()
	bb, errB := b.MarshalBinary()
	return errA == nil && errB == nil && bytes.Equal(ab, bb)
}

// judgeAnchor judges the peer that sent anchor, found not to be verified,
// the verified header at its height. An anchor is not checked on arrival,
// so check it now: a forgery (a bad signature, data that does not match)
// gets its sender banned as any invalid answer would; a valid header signed
// by the sequencer is an equivocation, not the peer's doing.
func (g *fetcher[H]) judgeAnchor(ctx context.Context, anchor, verified H, from peer.ID) {
	if from == "" || anchor.IsZero() {
		return
	}
	if err := checkSequencer(g.genesis, anchor); err != nil && !errors.Is(err, header.ErrFromFuture) {
		g.peers.Reputation().Punish(from, &peers.Fault{Peer: from, Err: fmt.Errorf("anchor header %d is not the chain's %s: %w", anchor.Height(), hex.EncodeToString(verified.Hash()), err)})
	}
}

// extends checks that hs are the headers right after prev, in order, each
// extending the one before. A break within hs is the sender's fault; a
// break between prev and hs[0] is too when prevTrusted (the sender answered
// for that height with something else), and otherwise may be prev's:
// errAnchorMismatch.
func extends[H Header[H]](prev H, hs []H, from peer.ID, prevTrusted bool) error {
	for j, h := range hs {
		if want := prev.Height() + 1; h.Height() != want {
			return &peers.Fault{Peer: from, Err: fmt.Errorf("answered header %d where %d was asked for", h.Height(), want)}
		}
		if err := prev.Verify(h); err != nil {
			if errors.Is(err, header.ErrFromFuture) {
				return err // the sequencer's clock or ours is off: not the peer's doing
			}
			if j == 0 && !prevTrusted {
				return fmt.Errorf("%w: %w", errAnchorMismatch, err)
			}
			return &peers.Fault{Peer: from, Err: err}
		}
		prev = h
	}
	return nil
}

// maxInFlight bounds the getter's concurrent requests, below what one
// server admits from one peer (Limits.PerPeerConcurrent), so that even with
// a single peer nothing is refused.
const maxInFlight = 12

// request sends one request to p, holding one of the maxInFlight slots.
// No signature check on arrival: fetchChunk authenticates an answer as a
// whole, and an anchor is trusted only once it matches a header that was.
func (g *fetcher[H]) request(ctx context.Context, p peer.ID, req *p2p_pb.HeaderRequest) ([]H, error) {
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-g.slots }()
	return g.peers.Request(ctx, p, req, func(h H) error { return checkOrigin(g.genesis, h) })
}

// fetchAnchor asks a serving peer for the header at height, and says which
// peer answered. It is not trusted until checked against a verified chain.
func (g *fetcher[H]) fetchAnchor(ctx context.Context, height uint64, i int) (H, peer.ID, error) {
	var zero H
	var errs []error
	tried := make(map[peer.ID]bool)
	for try := 0; try < maxChunkTries; try++ {
		p, err := g.peers.Pick(i+try, tried)
		if err != nil {
			return zero, "", fmt.Errorf("anchor header %d: %w", height, errors.Join(append(errs, err)...))
		}
		hs, err := g.request(ctx, p, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: height}, Amount: 1})
		if err == nil && hs[0].Height() != height {
			err = &peers.Fault{Peer: p, Err: fmt.Errorf("answered header %d where %d was asked for", hs[0].Height(), height)}
		}
		g.peers.Reputation().Judge(ctx, p, err)
		if err == nil {
			return hs[0], p, nil
		}
		if ctx.Err() != nil {
			return zero, "", ctx.Err()
		}
		tried[p] = true
		errs = append(errs, err)
	}
	return zero, "", fmt.Errorf("anchor header %d: %w", height, errors.Join(errs...))
}
