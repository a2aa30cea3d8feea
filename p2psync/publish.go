package p2psync

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/celestiaorg/go-header"
)

// Sequencer is the sequencer's sync service: a Service that also publishes
// the chain. Only NewSequencer makes one, so "not the sequencer" is a type,
// not an error at run time.
type Sequencer[H Header[H]] struct {
	*Service[H]
}

// NewSequencer builds the sequencer's service (cfg.Sequencer is implied).
// A sequencer whose store is behind cfg.RecoverTo syncs its chain back from
// its peers first (see FinishRecovery).
func NewSequencer[H Header[H]](cfg Config, net Network, ds Datastore) (*Sequencer[H], error) {
	cfg.Sequencer = true
	svc, err := newService[H](cfg, net, ds)
	if err != nil {
		return nil, err
	}
	return &Sequencer[H]{Service: svc}, nil
}

// Publish stores h and broadcasts it. The first header published to an
// empty store initialises it and must be at the genesis initial height;
// every later one must extend the stored head. Publish returns once h is
// durable, so a crash can never take back a header that peers have seen.
// If only the broadcast fails, h is stored all the same, peers still get it
// from the exchange, and the error wraps ErrBroadcastFailed.
func (s *Sequencer[H]) Publish(ctx context.Context, h H) error {
	if err := s.started(); err != nil {
		return err
	}
	return s.pub.publish(ctx, h)
}

// FinishRecovery ends the sequencer's recovery (Config.RecoverTo): the
// syncer stops and Publish works again. The caller checks first that the
// synced chain links to what the sequencer signed. It does nothing on a
// sequencer that is not recovering.
func (s *Sequencer[H]) FinishRecovery(ctx context.Context) error {
	if err := s.started(); err != nil {
		return err
	}
	return s.pub.finishRecovery(ctx)
}

// chainStore is what the publisher needs of the store.
type chainStore[H Header[H]] interface {
	header.Store[H]
	// Sync syncs every write so far to disk.
	Sync(ctx context.Context) error
}

// publisher is the sequencer's half of a service: it appends what the
// sequencer produces, waits until it is durable, and broadcasts it.
type publisher[H Header[H]] struct {
	kind       Kind
	init       *chainInit[H]
	store      chainStore[H]
	broadcast  func(context.Context, H) error
	stopSyncer func(context.Context) error // ends a recovery; nil when none runs
	recoverTo  uint64
	recovering atomic.Bool
	log        *slog.Logger

	mu sync.Mutex // one Publish at a time
}

func (p *publisher[H]) publish(ctx context.Context, h H) error {
	if p.recovering.Load() {
		return fmt.Errorf("publish %s %d: %w", p.kind, h.Height(), ErrRecovering)
	}
	if err := checkSequencer(p.init.genesis, h); err != nil {
		return fmt.Errorf("publish %s: %w", p.kind, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.init.done.Load() {
		if err := p.init.initialise(ctx, h, "publish"); err != nil {
			return fmt.Errorf("publish first %s: %w", p.kind, err)
		}
	} else if err := p.store.Append(ctx, h); err != nil {
		// A sequencer ending its recovery may find h stored already: its
		// syncer took h from peers. The very same header is published; any
		// other at its height is refused.
		if held, heldErr := p.holds(ctx, h); heldErr != nil || !held {
			return fmt.Errorf("publish %s %d: append to store: %w", p.kind, h.Height(), err)
		}
	}
	// Peers must never see a header that a crash could take back.
	if err := p.store.Sync(ctx); err != nil {
		return fmt.Errorf("publish %s %d: wait until written: %w", p.kind, h.Height(), err)
	}
	if err := p.broadcast(ctx, h); err != nil {
		return fmt.Errorf("publish %s %d: %w: %w", p.kind, h.Height(), ErrBroadcastFailed, err)
	}
	return nil
}

func (p *publisher[H]) finishRecovery(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.recovering.Load() {
		return nil
	}
	if !p.init.done.Load() {
		return fmt.Errorf("finish %s recovery: the store has no chain yet", p.kind)
	}
	if p.stopSyncer != nil {
		if err := p.stopSyncer(ctx); err != nil {
			return fmt.Errorf("finish %s recovery: %w", p.kind, err)
		}
	}
	p.recovering.Store(false)
	p.log.Info("recovered the chain from peers; publishing again", "height", p.store.Height())
	return nil
}

// holds reports whether the store holds h itself at h's height.
func (p *publisher[H]) holds(ctx context.Context, h H) (bool, error) {
	if p.store.Height() < h.Height() {
		return false, nil
	}
	stored, err := p.store.GetByHeight(ctx, h.Height())
	if err != nil {
		return false, err
	}
	return bytes.Equal(stored.Hash(), h.Hash()), nil
}
