package p2psync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/celestiaorg/go-header"
	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/sync/errgroup"

	"github.com/headersync/headersync/internal/backoff"
	"github.com/headersync/headersync/internal/every"
	"github.com/headersync/headersync/p2psync/peers"
	"github.com/headersync/headersync/types"
)

// go-header's syncer asks for up to 512 headers at a time, one range after
// the other. Its Exchange splits a range across peers but keeps one request
// per peer in flight and validates each answer on the goroutine that read
// it, so with one peer the signature checks — the cost of a catch-up — run
// on one core; and it cannot tell which peer sent a header of the wrong
// height, so such a peer is never banned and keeps spoiling ranges.
//
// The syncer's getter (fetcher) therefore fetches each range as chunks of
// RequestSize, concurrently, each from one peer it can hold to account
// (fetchChunk), and keeps ranges in flight ahead of the one the syncer asked
// for: as many as cover one round trip at the rate the syncer consumes them
// (pacing), so that on a distant peer the link, not the round trip, is the
// limit. Each peer has its own window of requests in flight, grown while it
// answers and halved when it fails to (peerWindows), and a chunk goes to the
// peer expected to answer it first.
//
// Every request but the one for the chunk right after the syncer's trusted
// header asks for one header more, below the chunk: the header the chunk
// must extend. Checking each header's signature was two thirds of a
// catch-up's CPU, and capped it below the rate at which the cores can check
// signatures. Header h+1 commits to the hash and the signature of h, and its
// own signature covers both, so each answer is authenticated as a whole
// (validateChain): the signature of its highest header, then hash links
// down to its lowest, the extra one included. Once two neighbouring chunks
// have arrived, the seam is checked: the extra header of the upper one must
// be, byte for byte, the top of the lower one. By induction from the
// trusted header the syncer gives, everything returned is one verified
// chain, which the store verifies once more as it appends. A seam that does
// not hold joins two chains both signed by the sequencer (it equivocated):
// the upper chunk is fetched again from the verified header below it, which
// settles which chain the node follows. No chunk waits for a round trip of
// its own to learn its anchor first.
//
// A range the syncer asked for is retried until it arrives (see
// GetRangeByHeight); go-header's own fetch is used only while no peer is
// known to serve the protocol (fetchRange).

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

	windows peerWindows // requests in flight, per peer
	pace    pacing      // how far ahead to fetch

	mu     sync.Mutex
	ahead  map[uint64]*ahead[H] // ranges fetched ahead, by first height
	closed bool
	wg     sync.WaitGroup // fetches ahead
}

func newFetcher[H Header[H]](exchange header.Getter[H], pc *peers.Client[H], g *types.Genesis, target func() uint64, cfg fetchConfig, log *slog.Logger) *fetcher[H] {
	life, end := context.WithCancel(context.Background())
	return &fetcher[H]{
		Getter: exchange, peers: pc, genesis: g, target: target, cfg: cfg, log: log,
		failLog: every.Interval{Period: time.Minute},
		life:    life, end: end,
		ahead: make(map[uint64]*ahead[H]),
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

// errAnchorMismatch: a chunk does not extend a header not yet verified.
// Either that header or the chunk is wrong; the chunk is fetched again from
// a verified header, which settles it.
var errAnchorMismatch = fmt.Errorf("chunk does not extend its anchor (%w)", peers.ErrInconclusive)

// ahead is a range fetched ahead of the syncer's request.
type ahead[H Header[H]] struct {
	start, to uint64 // the range [start, to)
	cancel    context.CancelFunc
	done      chan struct{}
	// anchored: fetched against the header the syncer stood on, verified;
	// otherwise hs begins with the header at start-1, authenticated but
	// not yet known to be the syncer's.
	anchored bool
	hs       []H
	err      error
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
	g.pace.called(time.Now())
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
	g.pace.returning(time.Now())
	return hs, nil
}

// takeAhead returns the range (from, to) if it was fetched ahead and joins
// from; nil if it was not. Ranges that can no longer be asked for are
// cancelled.
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
	switch {
	case hit.err != nil:
		return nil, nil
	case hit.anchored:
		return hit.hs, nil
	case len(hit.hs) > 1 && sameHeader(hit.hs[0], from):
		return hit.hs[1:], nil
	}
	g.log.Debug("a range fetched ahead does not join the synced chain; fetching it again", "from", start, "to", to-1)
	return nil, nil
}

// fetchAhead starts fetching the ranges after last, as many as the pacing
// asks for and not beyond the syncer's target.
func (g *fetcher[H]) fetchAhead(last H) {
	target := g.target()
	depth := g.pace.ahead()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	start := last.Height() + 1
	for i := 0; i < depth && start <= target; i++ {
		to := min(start+header.MaxRangeRequestSize, target+1)
		if _, ok := g.ahead[start]; !ok {
			ctx, cancel := context.WithCancel(g.life)
			a := &ahead[H]{start: start, to: to, cancel: cancel, done: make(chan struct{}), anchored: i == 0}
			g.ahead[start] = a
			g.wg.Add(1)
			var anchor H
			if a.anchored {
				anchor = last
			}
			go g.runAhead(ctx, a, anchor, g.pace.due(i))
		}
		start = to
	}
}

func (g *fetcher[H]) runAhead(ctx context.Context, a *ahead[H], anchor H, due time.Duration) {
	defer g.wg.Done()
	defer close(a.done)
	// A range that fails is fetched again when the syncer asks for it.
	a.hs, a.err = g.parallelRange(ctx, anchor, a.start, a.to, a.anchored, due)
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
	hs, err := g.parallelRange(ctx, from, from.Height()+1, to, verified, 0)
	if errors.Is(err, peers.ErrNoServingPeers) && verified && ctx.Err() == nil {
		fctx, cancel := context.WithTimeout(ctx, 2*g.cfg.RequestTimeout)
		defer cancel()
		return g.Getter.GetRangeByHeight(fctx, from, to)
	}
	return hs, err
}

// parallelRange fetches [start, to) as concurrent chunks, needed by the
// syncer in about due. With an anchor (the header at start-1), the headers
// returned extend it; without one (zero), they begin with the header at
// start-1 itself, for the caller to join to its chain.
func (g *fetcher[H]) parallelRange(ctx context.Context, anchor H, start, to uint64, verified bool, due time.Duration) ([]H, error) {
	size := g.cfg.RequestSize
	if to <= start {
		return nil, fmt.Errorf("empty range [%d, %d)", start, to)
	}
	n := int((to - start + size - 1) / size)
	bounds := func(i int) (lo, hi uint64) {
		return start + uint64(i)*size, min(start+uint64(i+1)*size, to)
	}

	// Each chunk but an anchored first one comes with the header below it:
	// chunks[i][0] is at lo-1. A chunk that fails, or does not extend what
	// came before it from another peer, is fetched again below.
	chunks := make([][]H, n)
	grp, gctx := errgroup.WithContext(ctx)
	for i := 0; i < n; i++ {
		lo, hi := bounds(i)
		grp.Go(func() error {
			var (
				hs  []H
				err error
			)
			if i == 0 && !anchor.IsZero() {
				hs, err = g.fetchChunk(gctx, anchor, lo, hi, verified, i, due)
			} else {
				var none H
				hs, err = g.fetchChunk(gctx, none, lo-1, hi, false, i, due)
			}
			if err != nil && i > 0 && gctx.Err() == nil {
				return nil // fetched again from the chunk below, in order
			}
			chunks[i] = hs
			return err
		})
	}
	if err := grp.Wait(); err != nil {
		return nil, err
	}

	out := make([]H, 0, to-start+1)
	out = append(out, chunks[0]...) // without an anchor, from the header at start-1
	for i := 1; i < n; i++ {
		prev := out[len(out)-1]
		if c := chunks[i]; len(c) > 1 && sameHeader(c[0], prev) {
			out = append(out, c[1:]...)
			continue
		}
		// The chunk failed, or its lowest header is not the top of the
		// chunk below (both signed by the sequencer: it equivocated):
		// fetch it again from that top.
		lo, hi := bounds(i)
		hs, err := g.fetchChunk(ctx, prev, lo, hi, verified, i, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, hs...)
	}
	return out, nil
}

// maxChunkTries bounds how many answers a chunk may take that fail it. A
// peer answering that it has none of the headers (it keeps a window, or is
// behind) does not count: that answer is cheap and no fault, and each
// serving peer is asked at most once.
const maxChunkTries = 8

// noneErr says how many peers answered that they had none of a chunk; nil
// if none did.
func noneErr(n int) error {
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%d peers have none of them: %w", n, header.ErrNotFound)
}

// fetchChunk fetches the headers [start, end), asking serving peers in turn
// (see choose). Each answer must be headers of exactly the next heights,
// valid, signed by the sequencer and each extending the one before, which
// validateChain checks with the signature of the answer's highest header
// and the links below it; a peer whose answer is not is banned. With an
// anchor (the header at start-1), the first answer must extend it; when
// anchor is not verified and an answer does not extend what came before it
// from another peer, either may be at fault: errAnchorMismatch, and no ban.
func (g *fetcher[H]) fetchChunk(ctx context.Context, anchor H, start, end uint64, verified bool, i int, due time.Duration) ([]H, error) {
	out := make([]H, 0, end-start)
	// A break between prev and an answer is the answering peer's fault if
	// prev is verified or came from that same peer.
	prev, prevFrom := anchor, peer.ID("")
	var (
		errs []error
		none int // peers that have none of the chunk
	)
	tried := make(map[peer.ID]bool) // peers that failed this chunk
	for try := 0; uint64(len(out)) < end-start; try++ {
		if len(errs) == maxChunkTries {
			return nil, fmt.Errorf("headers %d to %d: %d tries failed: %w", start, end-1, len(errs), errors.Join(append(errs, noneErr(none))...))
		}
		if try > 0 {
			due = 0 // a retry is late already
		}
		p, err := g.choose(i+try, tried, due)
		if err != nil {
			return nil, fmt.Errorf("headers %d to %d: %w", start, end-1, errors.Join(append(errs, noneErr(none), err)...))
		}
		next := start + uint64(len(out))
		// No server answers more than 512 at once: a longer chunk (one
		// with its extra header below) takes more answers.
		amount := min(end-next, header.MaxRangeRequestSize)
		hs, err := g.request(ctx, p, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: next}, Amount: amount})
		if err == nil {
			err = authenticate(hs, p)
		}
		if err == nil {
			// Validate is remembered now: Verify checks only the links.
			if prev.IsZero() {
				err = startsAt(next, hs, p)
			} else {
				err = extends(prev, hs, p, verified || prevFrom == p)
			}
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
		if errors.Is(err, header.ErrNotFound) {
			none++
			continue
		}
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

// startsAt checks that hs, one answer, begins at height first and goes up
// one height at a time, each header extending the one before.
func startsAt[H Header[H]](first uint64, hs []H, from peer.ID) error {
	if hs[0].Height() != first {
		return &peers.Fault{Peer: from, Err: fmt.Errorf("answered header %d where %d was asked for", hs[0].Height(), first)}
	}
	return extends(hs[0], hs[1:], from, true)
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

// request sends one request to p, within p's window of requests in
// flight, and times it for the pacing. No signature check on arrival:
// fetchChunk authenticates an answer as a whole.
func (g *fetcher[H]) request(ctx context.Context, p peer.ID, req *p2p_pb.HeaderRequest) ([]H, error) {
	release, err := g.windows.acquire(ctx, p)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	hs, err := g.peers.Request(ctx, p, req, func(h H) error { return checkOrigin(g.genesis, h) })
	took := time.Since(began)
	release(err == nil, took)
	if err == nil && req.Amount > 1 {
		g.pace.answered(took)
	}
	return hs, err
}

// choose returns a serving peer not in tried, among those with the fewest
// strikes, for a chunk the syncer needs in about due (see
// peerWindows.pick); i breaks ties, so that concurrent chunks spread over
// equal peers.
func (g *fetcher[H]) choose(i int, tried map[peer.ID]bool, due time.Duration) (peer.ID, error) {
	best, err := g.peers.Best(tried)
	if err != nil {
		return "", err
	}
	return g.windows.pick(best, i, due), nil
}
