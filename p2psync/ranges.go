package p2psync

import (
	"bytes"
	"context"
	"fmt"

	"github.com/celestiaorg/go-header"
	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"golang.org/x/sync/errgroup"
)

// go-header's syncer asks for up to 512 headers at a time, one range after
// the other, and a session of its Exchange sends a peer one request at a
// time, validating each answer on the goroutine that received it. With one
// peer, the signature checks — the cost of a catch-up — then run on one
// core, and the cores idle between ranges.
//
// The getter therefore fetches chunks of RequestSize concurrently, each
// through a go-header session of its own, and keeps fetching rangesAhead
// ranges ahead of the syncer. A session verifies its chunk against the
// header just before it (its anchor), which is not yet known for every
// chunk but the syncer's first: those anchors are fetched first, one small
// request each, and accepted only once they turn out to be the very header
// the verified chunk before them ended with. By induction from the trusted
// header the syncer gives, everything returned is one verified chain; the
// store verifies it once more as it appends.

// rangesAhead is how many ranges the getter fetches ahead of the syncer.
const rangesAhead = 2

// ahead is a range fetched ahead of the syncer's request.
type ahead[H Header[H]] struct {
	start, to uint64 // the range [start, to)
	cancel    context.CancelFunc
	done      chan struct{}
	anchor    H // the header at start-1 the range was verified against
	hs        []H
	err       error
}

// GetRangeByHeight returns the headers (from.Height(), to), verified.
func (g *netGetter[H]) GetRangeByHeight(ctx context.Context, from H, to uint64) ([]H, error) {
	hs, err := g.takeAhead(ctx, from, to)
	if err != nil {
		return nil, err
	}
	if hs == nil {
		if hs, err = g.fetchRange(ctx, from, to); err != nil {
			return nil, err
		}
	}
	g.fetchAhead(hs[len(hs)-1])
	return hs, nil
}

// takeAhead returns the range (from, to) if it was fetched ahead and is
// anchored on from; nil if it was not. Ranges that can no longer be asked
// for are cancelled.
func (g *netGetter[H]) takeAhead(ctx context.Context, from H, to uint64) ([]H, error) {
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
	if hit.err != nil || !bytes.Equal(hit.anchor.Hash(), from.Hash()) {
		return nil, nil // fetch it again, anchored on from
	}
	return hit.hs, nil
}

// fetchAhead starts fetching the ranges after last, up to rangesAhead of
// them and not beyond the syncer's target.
func (g *netGetter[H]) fetchAhead(last H) {
	target := g.s.syncer.State().ToHeight
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	start := last.Height() + 1
	for i := 0; i < rangesAhead && start <= target; i++ {
		to := min(start+header.MaxRangeRequestSize, target+1)
		if _, ok := g.ahead[start]; !ok {
			ctx, cancel := context.WithCancel(context.Background())
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

func (g *netGetter[H]) runAhead(ctx context.Context, a *ahead[H]) {
	defer g.wg.Done()
	defer close(a.done)
	if a.anchor.IsZero() {
		if a.anchor, a.err = g.fetchAnchor(ctx, a.start-1, 0); a.err != nil {
			return
		}
	}
	a.hs, a.err = g.fetchRange(ctx, a.anchor, a.to)
}

// close cancels the fetches ahead and waits for them; none starts after.
func (g *netGetter[H]) close() {
	g.mu.Lock()
	g.closed = true
	for s, a := range g.ahead {
		a.cancel()
		delete(g.ahead, s)
	}
	g.mu.Unlock()
	g.wg.Wait()
}

// fetchRange fetches (from.Height(), to), in parallel chunks when it is
// longer than one request, falling back to go-header's sequential fetch.
func (g *netGetter[H]) fetchRange(ctx context.Context, from H, to uint64) ([]H, error) {
	size := g.s.cfg.RequestSize
	first := from.Height() + 1
	if to <= first || to-first <= size {
		return g.Getter.GetRangeByHeight(ctx, from, to)
	}
	hs, err := g.parallelRange(ctx, from, to, size)
	if err != nil && ctx.Err() == nil {
		g.s.log.Debug("parallel range fetch failed; fetching sequentially", "from", first, "to", to-1, "err", err)
		return g.Getter.GetRangeByHeight(ctx, from, to)
	}
	return hs, err
}

// parallelRange fetches (from.Height(), to) as concurrent chunks of size.
func (g *netGetter[H]) parallelRange(ctx context.Context, from H, to, size uint64) ([]H, error) {
	first := from.Height() + 1
	n := int((to - first + size - 1) / size)

	// anchors[i] is the header just before chunk i: from, then fetched.
	anchors := make([]H, n)
	anchors[0] = from
	grp, gctx := errgroup.WithContext(ctx)
	for i := 1; i < n; i++ {
		grp.Go(func() (err error) {
			anchors[i], err = g.fetchAnchor(gctx, first+uint64(i)*size-1, i)
			return err
		})
	}
	if err := grp.Wait(); err != nil {
		return nil, err
	}

	chunks := make([][]H, n)
	grp, gctx = errgroup.WithContext(ctx)
	for i := 0; i < n; i++ {
		end := min(first+uint64(i+1)*size, to)
		grp.Go(func() error {
			hs, err := g.Getter.GetRangeByHeight(gctx, anchors[i], end)
			if err != nil {
				return fmt.Errorf("chunk after %d: %w", anchors[i].Height(), err)
			}
			chunks[i] = hs
			return nil
		})
	}
	if err := grp.Wait(); err != nil {
		return nil, err
	}

	out := make([]H, 0, to-first)
	for i, hs := range chunks {
		if i > 0 {
			prev := chunks[i-1][len(chunks[i-1])-1]
			if !bytes.Equal(prev.Hash(), anchors[i].Hash()) {
				return nil, &header.VerifyError{Reason: fmt.Errorf("anchor header %d %s is not the verified %s",
					anchors[i].Height(), anchors[i].Hash(), prev.Hash())}
			}
		}
		out = append(out, hs...)
	}
	if uint64(len(out)) != to-first {
		return nil, fmt.Errorf("range (%d, %d): got %d headers", from.Height(), to, len(out))
	}
	return out, nil
}

// fetchAnchor asks one serving peer (the i-th, round robin) for the header
// at height. It is not trusted until checked against a verified chain.
func (g *netGetter[H]) fetchAnchor(ctx context.Context, height uint64, i int) (H, error) {
	var zero H
	peers := servingPeers(g.s.net.Host(), g.s.proto, g.s.net.SeedIDs(), headPeers)
	if len(peers) == 0 {
		return zero, errNoServingPeers
	}
	reqCtx, cancel := context.WithTimeout(ctx, g.s.cfg.RequestTimeout)
	defer cancel()
	hs, err := requestFrom[H](reqCtx, g.s.net.Host(), peers[i%len(peers)], g.s.proto,
		&p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: height}, Amount: 1}, false)
	if err != nil {
		return zero, fmt.Errorf("anchor header %d: %w", height, err)
	}
	if hs[0].Height() != height {
		return zero, fmt.Errorf("anchor header: asked for %d, got %d", height, hs[0].Height())
	}
	return hs[0], nil
}
