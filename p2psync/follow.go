package p2psync

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/celestiaorg/go-header"
	gosync "github.com/celestiaorg/go-header/sync"
)

// trustForever is the syncer's trusting period: about a century. go-header
// re-trusts any head a peer offers once the stored one is older than its
// trusting period (two weeks by default), a rule for validator sets that
// unbond. Here trust comes from the genesis key, which does not expire: a
// node offline for a month resumes from its own head like any other.
const trustForever = 100 * 365 * 24 * time.Hour

// follower runs go-header's syncer over the fetcher and keeps its target
// fresh: it starts once the store has a head, asks the peers for their head
// at once (askPeersNow), and again whenever the head has gone stale.
type follower[H Header[H]] struct {
	syncer    *gosync.Syncer[H]
	fetch     *fetcher[H]
	store     header.Store[H]
	gate      *gossipGate[H] // the syncer's verifier is in its slot
	blockTime time.Duration
	log       *slog.Logger

	mu      sync.Mutex
	running atomic.Bool
	started chan struct{} // closed once the syncer first runs
	once    sync.Once
}

func newFollower[H Header[H]](fetch *fetcher[H], st header.Store[H], gate *gossipGate[H], blockTime time.Duration, log *slog.Logger) (*follower[H], error) {
	syncer, err := gosync.NewSyncer[H](fetch, st, syncerSubscriber[H]{gate},
		gosync.WithBlockTime(blockTime), gosync.WithMetrics(), gosync.WithTrustingPeriod(trustForever))
	if err != nil {
		return nil, fmt.Errorf("create syncer: %w", err)
	}
	return &follower[H]{syncer: syncer, fetch: fetch, store: st, gate: gate, blockTime: blockTime, log: log, started: make(chan struct{})}, nil
}

// target is the height the syncer is syncing to.
func (f *follower[H]) target() uint64 { return f.syncer.State().ToHeight }

// state is the syncer's current job, if it runs.
func (f *follower[H]) state() (gosync.State, bool) {
	if !f.running.Load() {
		return gosync.State{}, false
	}
	return f.syncer.State(), true
}

// start starts the syncer (the store must have a head); a no-op while it
// runs.
func (f *follower[H]) start(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running.Load() {
		return nil
	}
	if err := f.syncer.Start(ctx); err != nil {
		f.gate.syncerVerify.Store(nil)
		return fmt.Errorf("start syncer: %w", err)
	}
	f.running.Store(true)
	f.once.Do(func() { close(f.started) })
	return nil
}

// stop stops the syncer if it runs; gossip is then no longer handed to it.
func (f *follower[H]) stop(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.running.Load() {
		return nil
	}
	f.running.Store(false)
	f.gate.syncerVerify.Store(nil)
	if err := f.syncer.Stop(ctx); err != nil {
		return fmt.Errorf("stop syncer: %w", err)
	}
	return nil
}

// refresh asks for the network head whenever the subjective head has gone
// stale, until ctx ends. Gossip usually moves the head; this catches a node
// up when gossip is silent, e.g. a node started after the sequencer went
// quiet. Once the syncer runs, it first asks the peers at once.
func (f *follower[H]) refresh(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-f.started:
	}
	f.askPeersNow(ctx)
	t := time.NewTicker(max(f.blockTime, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !f.running.Load() {
			continue
		}
		if _, err := f.syncer.Head(ctx); err != nil && ctx.Err() == nil {
			f.log.Debug("refresh network head", "err", err)
		}
	}
}

// askPeersNow asks the peers for their head as soon as the syncer runs and
// hands a higher one to the syncer. go-header's syncer takes a stored head
// younger than two block times for the network's and asks nobody until it
// has aged: on a young chain (a node joining it, or restarting on it, or
// the catch-up benchmark) the first second went by waiting, though the
// peers were ahead all along. The head goes through the syncer's own
// gossip verifier, so it is verified and becomes the sync target exactly
// as a gossiped one would.
func (f *follower[H]) askPeersNow(ctx context.Context) {
	stored, err := f.store.Head(ctx)
	if err != nil {
		return // no head: the syncer does not run without one
	}
	head, err := f.fetch.Head(ctx, header.WithTrustedHead[H](stored))
	if err != nil {
		if ctx.Err() == nil {
			f.log.Debug("ask peers for their head", "err", err)
		}
		return
	}
	if head.Height() <= stored.Height() {
		return
	}
	if v := f.gate.syncerVerify.Load(); v != nil {
		if err := (*v)(ctx, head); err != nil && ctx.Err() == nil {
			f.log.Debug("peers' head not taken", "height", head.Height(), "err", err)
		}
	}
}
