package p2psync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/celestiaorg/go-header"
	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/headersync/headersync/internal/backoff"
	"github.com/headersync/headersync/internal/every"
	"github.com/headersync/headersync/p2psync/peers"
	"github.com/headersync/headersync/store/headerstore"
	"github.com/headersync/headersync/types"
	"github.com/headersync/headersync/types/rollkit"
)

// A service with a retention window (Config.Retain) keeps the headers from
// head-Retain+1 to the head; one that began at the network head
// (SyncFromHead) has nothing below its first header. The retainer closes
// the gap between the two and keeps it closed:
//
//   - Backward fill. Every header names the hash of the one below it and
//     commits to its signature (LastHeaderHash, LastCommitHash), so the
//     stored base, trusted, authenticates the header below it without a
//     signature check, and that one the next (types.LinkBelow): the
//     forward catch-up's linked verification, run downwards. Chunks below
//     the base are requested from the serving peers concurrently, many in
//     flight, and linked and prepended strictly top down as they arrive. A
//     chunk that does not link is its sender's fault, since what it must
//     link to is already trusted: the sender is banned and the chunk asked
//     of another peer. A peer that lacks a height (it keeps a window of its
//     own) answers not found, and the chunk goes to another.
//   - Pruning. As the head moves, headers that fall out of the window are
//     deleted in the background, in batches (headerstore.DeleteBelow: each
//     chunk one synced batch with the new base), once a batch's worth has
//     fallen out: the store holds at most Retain plus one batch.
//
// With Retain 0 (keep everything) a service that began at the network head
// fills backwards all the way to the genesis header: it serves the chain's
// head at once and becomes archival in the background.

// retainConfig is the retainer's share of Config.
type retainConfig struct {
	Retain      uint64 // headers to keep; 0: every header
	Floor       uint64 // the chain's first height (genesis)
	RequestSize uint64 // headers per chunk
	// Depth bounds the chunks in flight ahead of the one being linked.
	Depth int
	// RetryMin and RetryMax bound the pause after a fill fails (no peer
	// has the headers).
	RetryMin, RetryMax time.Duration
}

// fillDepth is how many chunks the backward fill keeps in flight: at 256
// headers a chunk, 64 cover about 16 000 headers, 80 000 headers/s at a
// 200 ms round trip, with about 7 MB of headers waiting to be linked.
const fillDepth = 64

// retainer keeps a store to its window: fills it backwards, prunes below.
type retainer[H Header[H]] struct {
	store   *headerstore.Store[H]
	peers   *peers.Client[H]
	genesis *types.Genesis
	cfg     retainConfig
	windows peerWindows // requests in flight, per peer
	log     *slog.Logger
	fillLog every.Interval // fill progress, every 5 s
	failLog every.Interval // failures, once a minute
}

func newRetainer[H Header[H]](st *headerstore.Store[H], pc *peers.Client[H], g *types.Genesis, cfg retainConfig, log *slog.Logger) *retainer[H] {
	if cfg.Depth <= 0 {
		cfg.Depth = fillDepth
	}
	return &retainer[H]{store: st, peers: pc, genesis: g, cfg: cfg, log: log.With("component", "retain"),
		fillLog: every.Interval{Period: 5 * time.Second}, failLog: every.Interval{Period: time.Minute}}
}

// low returns the lowest height to keep when the head is at head.
func (r *retainer[H]) low(head uint64) uint64 {
	lo := r.cfg.Floor
	if n := r.cfg.Retain; n != 0 && head >= n {
		lo = max(lo, head-n+1)
	}
	return lo
}

// pruneBatch is how many headers must have fallen out of the window before
// they are deleted: a sixteenth of the window, at least 1 and at most 4096.
func (r *retainer[H]) pruneBatch() uint64 {
	return min(max(r.cfg.Retain/16, 1), 4096)
}

// run fills and prunes until ctx ends.
func (r *retainer[H]) run(ctx context.Context) {
	if r.store.WaitHeight(ctx, 1) != nil {
		return // ended before the store had its first header
	}
	retry := backoff.New(r.cfg.RetryMin, r.cfg.RetryMax)
	for ctx.Err() == nil {
		base, head := r.store.Base(), r.store.Height()
		lo := r.low(head)
		var err error
		switch {
		case base > lo:
			if err = r.fill(ctx, lo); err == nil {
				retry.Reset()
				continue
			}
		case r.cfg.Retain != 0 && lo >= base+r.pruneBatch():
			if err = r.store.DeleteBelow(ctx, lo); err == nil {
				r.log.Debug("pruned", "below", lo, "head", head)
				continue
			}
			err = fmt.Errorf("prune below %d: %w", lo, err)
		case r.cfg.Retain == 0:
			return // everything kept, and filled
		default:
			// Wait for the head at which a batch has fallen out.
			next := max(head+1, base+r.pruneBatch()+r.cfg.Retain-1)
			_ = r.store.WaitHeight(ctx, next) // only ctx ends it early
			continue
		}
		if ctx.Err() != nil {
			return
		}
		pause := retry.Next()
		if r.failLog.Allow() {
			r.log.Warn("retention window: retrying", "err", err, "retry_in", pause)
		} else {
			r.log.Debug("retention window: retrying", "err", err, "retry_in", pause)
		}
		backoff.Wait(ctx, pause, nil)
	}
}

// slot is one chunk of the backward fill: the headers [lo, hi).
type slot[H Header[H]] struct {
	lo, hi uint64
	done   chan struct{}
	hs     []H
	from   peer.ID
	err    error
}

// fill fetches the headers [lo, base) and prepends them, top down.
func (r *retainer[H]) fill(ctx context.Context, lo uint64) error {
	base := r.store.Base()
	above, err := r.store.GetByHeight(ctx, base)
	if err != nil {
		return fmt.Errorf("read the base %d: %w", base, err)
	}
	began, total := time.Now(), base-lo
	r.log.Info("filling the window backwards", "from", base-1, "down_to", lo, "headers", total)

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	size := r.cfg.RequestSize
	next := base // the top of the next chunk to launch
	var pending []*slot[H]
	launched := 0
	launch := func() {
		s := &slot[H]{lo: lo, hi: next, done: make(chan struct{})}
		if next-lo > size {
			s.lo = next - size
		}
		next = s.lo
		pending = append(pending, s)
		i := launched
		launched++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(s.done)
			s.hs, s.from, s.err = r.fetch(ctx, s.lo, s.hi, i, nil)
		}()
	}
	for len(pending) < r.cfg.Depth && next > lo {
		launch()
	}
	for len(pending) > 0 {
		s := pending[0]
		select {
		case <-s.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		pending = pending[1:]
		hs, err := r.link(ctx, s, above)
		if err != nil {
			return err
		}
		if err := r.store.Prepend(ctx, hs...); err != nil {
			return fmt.Errorf("store headers %d to %d: %w", s.lo, s.hi-1, err)
		}
		above = hs[0]
		if next > lo {
			launch()
		}
		if r.fillLog.Allow() {
			done := base - s.lo
			r.log.Info("filling the window backwards", "base", s.lo, "done", done, "of", total,
				"rate", fmt.Sprintf("%.0f/s", float64(done)/time.Since(began).Seconds()))
		}
	}
	took := time.Since(began)
	r.log.Info("window filled", "base", lo, "headers", total, "took", took.Round(time.Millisecond),
		"rate", fmt.Sprintf("%.0f/s", float64(total)/max(took.Seconds(), 1e-9)))
	return nil
}

// link returns the chunk of s authenticated by above, the lowest header
// already trusted: as fetched if it links, else fetched again from peers
// that have not failed it, at most maxChunkTries answers in all.
func (r *retainer[H]) link(ctx context.Context, s *slot[H], above H) ([]H, error) {
	hs, from, err := s.hs, s.from, s.err
	tried := make(map[peer.ID]bool)
	var errs []error
	for try := 1; ; try++ {
		if err == nil {
			if err = linkBelow(hs, above); err != nil {
				// above is trusted: a chunk that does not link to it is
				// its sender's doing.
				err = &peers.Fault{Peer: from, Err: fmt.Errorf("headers %d to %d below %d: %w", s.lo, s.hi-1, above.Height(), err)}
				r.peers.Reputation().Judge(ctx, from, err)
			}
		}
		if err == nil {
			return hs, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		errs = append(errs, err)
		if from != "" {
			tried[from] = true
		}
		if try >= maxChunkTries {
			return nil, fmt.Errorf("headers %d to %d: %d tries failed: %w", s.lo, s.hi-1, try, errors.Join(errs...))
		}
		hs, from, err = r.fetch(ctx, s.lo, s.hi, try, tried)
	}
}

// fetch asks serving peers not in tried for the headers [lo, hi), one
// after the other (those that have none of them do not count against
// maxChunkTries) until one answers with exactly them (each of the genesis
// chain and naming the genesis key; the links are checked when the chunk
// is linked). A peer whose answer is wrong on its face is judged for it.
func (r *retainer[H]) fetch(ctx context.Context, lo, hi uint64, i int, tried map[peer.ID]bool) ([]H, peer.ID, error) {
	if tried == nil {
		tried = make(map[peer.ID]bool)
	}
	var (
		errs []error
		none int // peers that have none, or not all, of the chunk
	)
	for len(errs) < maxChunkTries {
		best, err := r.peers.Best(tried)
		if err != nil {
			return nil, "", fmt.Errorf("headers %d to %d: %w", lo, hi-1, errors.Join(append(errs, noneErr(none), err)...))
		}
		p := r.windows.pick(best, i, 0)
		hs, err := r.request(ctx, p, lo, hi)
		r.peers.Reputation().Judge(ctx, p, err)
		if err == nil {
			return hs, p, nil
		}
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		tried[p] = true
		if errors.Is(err, header.ErrNotFound) || errors.Is(err, errShortAnswer) {
			none++ // a peer with a window of its own, or behind: cheap, no fault
			continue
		}
		errs = append(errs, err)
	}
	return nil, "", fmt.Errorf("headers %d to %d: %w", lo, hi-1, errors.Join(append(errs, noneErr(none))...))
}

// errShortAnswer: a peer answered fewer headers than asked for, as a peer
// behind the asker does (a server cuts a range at its head). Not a fault.
var errShortAnswer = fmt.Errorf("answered fewer headers than asked for (%w)", peers.ErrInconclusive)

// request asks p for [lo, hi) within p's window of requests in flight.
func (r *retainer[H]) request(ctx context.Context, p peer.ID, lo, hi uint64) ([]H, error) {
	release, err := r.windows.acquire(ctx, p)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	hs, err := r.peers.Request(ctx, p, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: lo}, Amount: hi - lo},
		func(h H) error { return checkOrigin(r.genesis, h) })
	release(err == nil, time.Since(began))
	if err != nil {
		return nil, err
	}
	for j, h := range hs {
		if want := lo + uint64(j); h.Height() != want {
			return nil, &peers.Fault{Peer: p, Err: fmt.Errorf("answered header %d where %d was asked for", h.Height(), want)}
		}
	}
	if uint64(len(hs)) != hi-lo {
		return nil, fmt.Errorf("peer %s: headers %d to %d: %d headers: %w", p, lo, hi-1, len(hs), errShortAnswer)
	}
	return hs, nil
}

// linkBelow authenticates hs, the headers right below above, by the links
// of above (types.LinkBelow, rollkit.LinkBelow), or each by its own
// signature for header types no format package links.
func linkBelow[H Header[H]](hs []H, above H) error {
	switch c := any(hs).(type) {
	case []*types.SignedHeader:
		return types.LinkBelow(c, any(above).(*types.SignedHeader))
	case []*types.Block:
		return types.LinkBlocksBelow(c, any(above).(*types.Block))
	case []*rollkit.SignedHeader:
		return rollkit.LinkBelow(c, any(above).(*rollkit.SignedHeader))
	case []*rollkit.Block:
		return rollkit.LinkBlocksBelow(c, any(above).(*rollkit.Block))
	}
	for i := len(hs) - 1; i >= 0; i-- {
		if err := hs[i].Validate(); err != nil {
			return named(hs[i], err)
		}
		if err := hs[i].Verify(above); err != nil {
			return named(above, err)
		}
		above = hs[i]
	}
	return nil
}
