package p2psync

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/celestiaorg/go-header"
	hp2p "github.com/celestiaorg/go-header/p2p"

	"github.com/headersync/headersync/internal/every"
	"github.com/headersync/headersync/types"
)

// go-header's Subscriber takes one gossip verifier for its lifetime, and its
// Syncer installs its own when it starts. The service needs a verifier from
// the moment it joins the topic (to take the first header from gossip, and
// to accept its own broadcasts), so the gate installs verify and hands the
// Syncer a Subscriber whose SetVerifier only fills the gate's syncer slot.

// chainReader is what the gate reads of the store: the equivocation check.
type chainReader[H Header[H]] interface {
	Height() uint64
	GetByHeight(ctx context.Context, height uint64) (H, error)
}

// gossipGate owns the service's gossip: the subscriber, the subscription it
// drains, the validator every gossiped header passes, its verdict counts,
// and the syncer's verifier slot.
type gossipGate[H Header[H]] struct {
	genesis *types.Genesis
	chain   chainReader[H]
	ready   func() bool  // the store has a trusted head
	offer   func(H) bool // a first-header candidate, to the bootstrapper; nil: none wanted
	work    *inflight
	log     *slog.Logger

	sub          *hp2p.Subscriber[H]
	subscription header.Subscription[H]
	syncerVerify atomic.Pointer[func(context.Context, H) error]
	// publishing holds hashes this node is broadcasting, so that its own
	// validator accepts them without asking the syncer.
	publishing sync.Map

	accepted, ignored, rejected atomic.Uint64
	conflicting                 atomic.Uint64 // sequencer-signed, but not the stored header at its height
	rejectLog, conflictLog      every.Interval
}

func newGossipGate[H Header[H]](g *types.Genesis, chain chainReader[H], ready func() bool, work *inflight, log *slog.Logger) *gossipGate[H] {
	return &gossipGate[H]{
		genesis: g, chain: chain, ready: ready, work: work, log: log,
		rejectLog: every.Interval{Period: time.Second}, conflictLog: every.Interval{Period: time.Second},
	}
}

// join joins the kind's topic with the gate as its validator and subscribes
// (joining alone does not put a node in the topic's mesh: it would neither
// receive nor relay). It returns the stops of what it started, in order.
func (g *gossipGate[H]) join(ctx context.Context, sub *hp2p.Subscriber[H], topic string) ([]func(context.Context) error, error) {
	if err := sub.SetVerifier(g.verify); err != nil {
		return nil, fmt.Errorf("set gossip verifier: %w", err)
	}
	if err := sub.Start(ctx); err != nil {
		return nil, fmt.Errorf("join topic %s: %w", topic, err)
	}
	g.sub = sub
	subscription, err := sub.Subscribe()
	if err != nil {
		return []func(context.Context) error{sub.Stop}, fmt.Errorf("subscribe to %s: %w", topic, err)
	}
	g.subscription = subscription
	return []func(context.Context) error{sub.Stop, func(context.Context) error { subscription.Cancel(); return nil }}, nil
}

// drain consumes the subscription until ctx ends or it is cancelled: gossip
// reaches the store through the validator, but an unread subscription would
// make pubsub drop messages.
func (g *gossipGate[H]) drain(ctx context.Context) {
	for {
		if _, err := g.subscription.NextHeader(ctx); err != nil {
			return
		}
	}
}

// broadcast gossips h, which this node's own validator then accepts.
func (g *gossipGate[H]) broadcast(ctx context.Context, h H) error {
	key := h.Hash().String()
	g.publishing.Store(key, struct{}{})
	defer g.publishing.Delete(key)
	return g.sub.Broadcast(ctx, h)
}

// verify screens every gossiped header. A nil result accepts it, a soft
// *header.VerifyError ignores it, any other error rejects it (and gossipsub
// holds that against the peer that sent it).
func (g *gossipGate[H]) verify(ctx context.Context, h H) error {
	if !g.work.enter() {
		return notBlamed(ErrNotRunning)
	}
	defer g.work.leave()
	err := g.screen(ctx, h)
	var verr *header.VerifyError
	switch {
	case err == nil:
		g.accepted.Add(1)
	case errors.As(err, &verr) && verr.SoftFailure:
		g.ignored.Add(1)
	default:
		total := g.rejected.Add(1)
		// At most once a second: a peer flooding bad gossip must not
		// flood the log.
		if g.rejectLog.Allow() {
			g.log.Warn("rejected gossiped header", "height", h.Height(), "hash", hex.EncodeToString(h.Hash()),
				"err", err, "rejected_total", total)
		}
	}
	return err
}

func (g *gossipGate[H]) screen(ctx context.Context, h H) error {
	if _, ok := g.publishing.Load(h.Hash().String()); ok {
		return nil
	}
	// Only a header the sequencer did not sign, or of another chain, is the
	// relaying peer's fault: reject it, which costs the peer gossip score.
	if err := checkSequencer(g.genesis, h); err != nil {
		return &header.VerifyError{Reason: err}
	}
	if err := checkFresh(h); err != nil {
		return notBlamed(err)
	}
	if err := g.checkEquivocation(ctx, h); err != nil {
		return notBlamed(err)
	}
	if v := g.syncerVerify.Load(); v != nil {
		err := (*v)(ctx, h)
		// A sequencer-signed header that is late (a height we have, or an
		// older time) or early for our clock is ignored, not rejected:
		// honest peers relay such headers, and rejecting them would
		// graylist the sequencer itself. A broken link at the next height
		// stays rejected.
		if errors.Is(err, header.ErrKnownHeader) || errors.Is(err, header.ErrUnorderedTime) || errors.Is(err, header.ErrFromFuture) {
			return notBlamed(err)
		}
		return err
	}
	if g.offer != nil && g.offer(h) {
		return nil
	}
	return notBlamed(ErrNotInitialised)
}

// checkEquivocation returns ErrEquivocation, counted and logged, for a
// gossiped header that differs from the stored one at its height. It is
// signed by the genesis key (the caller checked), so the sequencer signed
// two headers at one height: a fork, never the relayer's fault, and worth
// an operator's attention (a sequencer that lost its data/ and its signing
// state, or a stolen key). It is logged at most once a second.
func (g *gossipGate[H]) checkEquivocation(ctx context.Context, h H) error {
	if !g.ready() || h.Height() > g.chain.Height() {
		return nil
	}
	stored, err := g.chain.GetByHeight(ctx, h.Height())
	if err != nil || bytes.Equal(stored.Hash(), h.Hash()) {
		return nil // below a trusted base, or the same header again
	}
	total := g.conflicting.Add(1)
	if g.conflictLog.Allow() {
		g.log.Error("the sequencer signed a second header at a stored height: its chain forked; following the stored chain",
			"height", h.Height(), "stored_hash", hex.EncodeToString(stored.Hash()), "gossiped_hash", hex.EncodeToString(h.Hash()), "conflicting_total", total)
	}
	return fmt.Errorf("header %d %s: %w (stored %s)", h.Height(), hex.EncodeToString(h.Hash()), ErrEquivocation, hex.EncodeToString(stored.Hash()))
}

// counts returns the gate's verdicts so far.
func (g *gossipGate[H]) counts() GossipCounts {
	return GossipCounts{
		Accepted:    g.accepted.Load(),
		Ignored:     g.ignored.Load(),
		Rejected:    g.rejected.Load(),
		Conflicting: g.conflicting.Load(),
	}
}

// notBlamed makes err a soft failure: gossipsub ignores the message without
// holding it against its sender.
func notBlamed(err error) error {
	var verr *header.VerifyError
	if errors.As(err, &verr) {
		verr.SoftFailure = true
		return verr
	}
	return &header.VerifyError{Reason: err, SoftFailure: true}
}

// syncerSubscriber is the Subscriber the syncer sees: the gate's
// subscriber, with the syncer's verifier kept in the gate's slot.
type syncerSubscriber[H Header[H]] struct{ g *gossipGate[H] }

func (s syncerSubscriber[H]) Subscribe() (header.Subscription[H], error) {
	return s.g.sub.Subscribe()
}

func (s syncerSubscriber[H]) SetVerifier(v func(context.Context, H) error) error {
	s.g.syncerVerify.Store(&v)
	return nil
}
