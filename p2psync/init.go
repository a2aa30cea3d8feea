package p2psync

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/celestiaorg/go-header"
	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/event"

	"github.com/headersync/headersync/internal/backoff"
	"github.com/headersync/headersync/p2psync/peers"
	"github.com/headersync/headersync/types"
)

// chainInit is the one place a store gets its first header, whoever offers
// it: the bootstrapper (from peers or gossip) or the sequencer's first
// Publish. It serialises the two, and runs onInit (start serving, and
// syncing if the service syncs) once the store has a head.
type chainInit[H Header[H]] struct {
	kind    Kind
	genesis *types.Genesis
	trusted header.Hash // the configured trusted hash; nil: the genesis header
	// fromHead: with no trusted hash, the first header is the network head,
	// whatever its height.
	fromHead bool
	store    header.Store[H]
	ds       datastore.Write // where a trusted base is recorded
	onInit   func(context.Context) error
	log      *slog.Logger

	mu   sync.Mutex
	done atomic.Bool
}

// initialise trusts h as the first header, if the store has none yet, and
// runs onInit. It is safe to call again: a store already initialised only
// runs onInit (which starts what a failed earlier attempt did not).
func (c *chainInit[H]) initialise(ctx context.Context, h H, source string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done.Load() {
		if err := c.check(h); err != nil {
			return fmt.Errorf("first header: %w", err)
		}
		if len(c.trusted) != 0 {
			if err := recordBase(ctx, c.ds, c.kind, h.Hash()); err != nil {
				return err
			}
		}
		// Store.Init writes synchronously: h is durable when it returns.
		if err := c.store.Init(ctx, h); err != nil {
			return fmt.Errorf("initialise store with header %d %s: %w", h.Height(), hex.EncodeToString(h.Hash()), err)
		}
		c.done.Store(true)
		c.log.Info("initialised", "height", h.Height(), "hash", hex.EncodeToString(h.Hash()), "from", source)
	}
	return c.onInit(ctx)
}

// check reports whether h may be the store's first header.
func (c *chainInit[H]) check(h H) error {
	return checkFirst(c.genesis, c.trusted, c.fromHead, h)
}

// newPeerPause is the least time between two attempts triggered by peers
// connecting.
const newPeerPause = 20 * time.Millisecond

// bootstrap obtains the first header of a service whose store is empty
// (plan InitFromTrustedHash, InitFromGenesis or InitFromHead): from peers, retrying with
// backoff and straight away when a new peer connects, or from gossip if it
// comes first (offer).
type bootstrap[H Header[H]] struct {
	plan       InitPlan
	init       *chainInit[H]
	peers      *peers.Client[H]
	events     event.Bus
	retryMin   time.Duration
	retryMax   time.Duration
	candidates chan H                 // first-header candidates seen in gossip
	lastErr    atomic.Pointer[string] // why the last attempt failed
	log        *slog.Logger
}

// waiting says what the service waits for, and why the last attempt
// failed, while it has no first header.
func (b *bootstrap[H]) waiting() (what, lastErr string) {
	if msg := b.lastErr.Load(); msg != nil {
		lastErr = *msg
	}
	return b.plan.Waiting(), lastErr
}

// offer hands h to the init loop if the service waits for exactly h.
func (b *bootstrap[H]) offer(h H) bool {
	if b.init.done.Load() || !b.plan.fetches() {
		return false
	}
	if b.init.check(h) != nil {
		return false
	}
	select {
	case b.candidates <- h:
	default: // a candidate is already queued
	}
	return true
}

// run is the init loop: it returns once the store is initialised or ctx
// ends.
func (b *bootstrap[H]) run(ctx context.Context) {
	log := b.log.With("waiting_for", b.plan.Waiting())
	log.Info("store is empty; waiting for the first header")

	loopCtx, stop := context.WithCancel(ctx)
	defer stop()
	var watchers sync.WaitGroup
	defer watchers.Wait()
	newPeers := b.watchNewPeers(loopCtx, &watchers, log)

	retry := backoff.New(b.retryMin, b.retryMax)
	timer := time.NewTimer(0)
	defer timer.Stop()
	var (
		lastAttempt, lastLogged time.Time
		lastReason              string
	)
	for {
		select {
		case <-ctx.Done():
			return
		case h := <-b.candidates:
			if err := b.init.initialise(ctx, h, "gossip"); err != nil {
				log.Error("initialise from gossip", "err", err)
				continue
			}
			return
		case <-newPeers:
			// Someone new may have the header: try almost at once. The
			// short pause only merges the events of peers connecting
			// together into one attempt.
			retry.Reset()
			resetTimer(timer, newPeerPause-time.Since(lastAttempt))
			continue
		case <-timer.C:
		}

		lastAttempt = time.Now()
		h, err := b.fetchFirst(ctx)
		if err == nil {
			if err = b.init.initialise(ctx, h, "exchange"); err == nil {
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		msg := err.Error()
		b.lastErr.Store(&msg)
		delay := retry.Next()
		// Log each kind of failure once a minute, not every attempt: the
		// details (peer IDs, stream errors) change every time.
		reason := "no peer could provide it"
		if errors.Is(err, peers.ErrNoServingPeers) {
			reason = peers.ErrNoServingPeers.Error()
		}
		if reason != lastReason || time.Since(lastLogged) > time.Minute {
			log.Info("first header not available yet; retrying", "reason", reason, "err", err, "retry_in", delay)
			lastReason, lastLogged = reason, time.Now()
		} else {
			log.Debug("first header not available yet", "err", err, "retry_in", delay)
		}
		resetTimer(timer, delay)
	}
}

// fetchFirst asks the serving peers for the first header: the trusted-hash
// header when one is configured, else the network head (plan InitFromHead)
// or the header at the genesis initial height. A peer answering with a
// header the sequencer did not sign is banned.
func (b *bootstrap[H]) fetchFirst(ctx context.Context) (H, error) {
	if b.plan == InitFromHead {
		var none H
		return b.peers.Head(ctx, none, func(h H) error { return checkSequencer(b.init.genesis, h) })
	}
	req := &p2p_pb.HeaderRequest{Amount: 1}
	if len(b.init.trusted) != 0 {
		req.Data = &p2p_pb.HeaderRequest_Hash{Hash: b.init.trusted}
	} else {
		req.Data = &p2p_pb.HeaderRequest_Origin{Origin: b.init.genesis.InitialHeight}
	}
	return b.peers.First(ctx, req, b.init.check)
}

// watchNewPeers signals, on a channel holding at most one signal, each time
// a peer completes identification, until ctx ends. The event bus blocks
// every emitter while a subscriber's buffer is full, so events are drained
// here, apart from the init loop's long attempts, rather than left queued.
func (b *bootstrap[H]) watchNewPeers(ctx context.Context, wg *sync.WaitGroup, log *slog.Logger) <-chan struct{} {
	out := make(chan struct{}, 1)
	sub, err := b.events.Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		log.Error("subscribe to peer events; retrying on a timer only", "err", err)
		return out
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.Out():
				select {
				case out <- struct{}{}:
				default: // one signal pending is enough
				}
			}
		}
	}()
	return out
}

// resetTimer makes t fire after d (at once if d <= 0), dropping a pending
// tick.
func resetTimer(t *time.Timer, d time.Duration) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	t.Reset(max(d, 0))
}
