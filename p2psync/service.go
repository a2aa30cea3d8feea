package p2psync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	hp2p "github.com/celestiaorg/go-header/p2p"
	gosync "github.com/celestiaorg/go-header/sync"
	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-datastore"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/conngater"

	"github.com/headersync/headersync/p2psync/peers"
	"github.com/headersync/headersync/store/headerstore"
)

// Datastore is the node's database: a go-datastore for the records kept
// beside the chain (trusted base, mempool, DHT), and the pebble database
// the header store keeps the chain in. store.Open and store.Memory return
// one.
type Datastore interface {
	datastore.Batching
	Pebble() *pebble.DB
}

// Network is what a Service needs of the node's libp2p client.
type Network interface {
	Host() host.Host
	PubSub() *pubsub.PubSub
	// ConnectionGater is where go-header's exchange client bans peers.
	ConnectionGater() *conngater.BasicConnectionGater
	// Ban refuses p for a while and closes its connections.
	Ban(p peer.ID, reason string)
	// SeedIDs are the configured seeds: asked first.
	SeedIDs() []peer.ID
}

// Service is one sync service for headers of type H: the store, the gossip
// gate, the exchange server, and for every node but a sequencer that is not
// recovering, the fetcher and the syncer.
type Service[H Header[H]] struct {
	cfg Config
	net Network
	ds  Datastore
	log *slog.Logger

	store  *headerstore.Store[H]
	init   *chainInit[H]
	gate   *gossipGate[H]
	server *exchangeServer
	boot   *bootstrap[H] // nil unless the store began empty and the service syncs
	follow *follower[H]  // nil unless the service syncs
	pub    *publisher[H] // the sequencer's only
	run    lifecycle
}

// lifecycle is what Start begins and Stop ends.
type lifecycle struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup                // the service's goroutines
	stops   []func(context.Context) error // components to stop, in start order
	work    inflight                      // gossip validations running
	begun   atomic.Bool
	stopped atomic.Bool
}

// goroutine runs f on a goroutine the service owns: Stop ends ctx and
// waits for it.
func (l *lifecycle) goroutine(ctx context.Context, f func(context.Context)) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f(ctx)
	}()
}

func (l *lifecycle) onStop(stops ...func(context.Context) error) { l.stops = append(l.stops, stops...) }

// New checks cfg and builds the service of a node that is not the
// sequencer (for the sequencer's, see NewSequencer). It starts nothing.
func New[H Header[H]](cfg Config, net Network, ds Datastore) (*Service[H], error) {
	if cfg.Sequencer {
		return nil, errors.New("p2psync: the sequencer's service is made by NewSequencer")
	}
	return newService[H](cfg, net, ds)
}

func newService[H Header[H]](cfg Config, net Network, ds Datastore) (*Service[H], error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if net == nil || ds == nil {
		return nil, errors.New("p2psync: nil network or datastore")
	}
	log := cfg.Logger.With("service", string(cfg.Kind))
	if cfg.Reputation == nil {
		cfg.Reputation = peers.NewReputation(BanThrough(net), log)
	}
	return &Service[H]{cfg: cfg, net: net, ds: ds, log: log}, nil
}

// BanThrough returns a ban for a Reputation: the network's (the p2p
// client's bounded, expiring bans).
func BanThrough(net Network) func(peer.ID, error) {
	return func(p peer.ID, reason error) { net.Ban(p, reason.Error()) }
}

// Start opens the store and starts every component, in order; ctx bounds
// only the starting. It returns as soon as they run: a service without a
// stored head initialises in the background. A failed Start stops what it
// started before it returns; a second Start fails.
func (s *Service[H]) Start(ctx context.Context) error {
	if !s.run.begun.CompareAndSwap(false, true) {
		return errors.New("sync service already started")
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.run.cancel = cancel
	if err := s.start(ctx, runCtx); err != nil {
		s.run.stopped.Store(true)
		stopCtx, cancelStop := context.WithTimeout(context.Background(), failedStartStop)
		defer cancelStop()
		return errors.Join(fmt.Errorf("start %s sync service: %w", s.cfg.Kind, err), s.shutdown(stopCtx))
	}
	return nil
}

// failedStartStop bounds the clean-up after a failed Start.
const failedStartStop = 10 * time.Second

func (s *Service[H]) start(ctx, runCtx context.Context) error {
	cfg := s.cfg
	chainID := cfg.Genesis.ChainID
	names := cfg.Kind.NamesOf(cfg.Genesis)
	h := s.net.Host()

	st, err := openStore[H](ctx, s.ds, cfg.Kind, s.log, headerstore.WithSyncEvery(syncEvery))
	if err != nil {
		return err
	}
	s.store = st
	s.run.onStop(st.Close)

	hasHead := st.Height() != 0
	if hasHead {
		s.log.Info("resumed from height", "height", st.Height())
	}

	recovering := cfg.Sequencer && st.Height() < cfg.RecoverTo
	syncs := !cfg.Sequencer || recovering
	s.init = &chainInit[H]{kind: cfg.Kind, genesis: cfg.Genesis, trusted: cfg.TrustedHash, fromHead: cfg.SyncFrom == SyncFromHead,
		store: st, ds: s.ds, log: s.log, onInit: s.onInit}
	s.init.done.Store(hasHead)

	s.gate = newGossipGate[H](cfg.Genesis, st, s.init.done.Load, &s.run.work, s.log)
	client := peers.NewClient[H](h, names.Protocol, s.net.SeedIDs(), cfg.Reputation, cfg.RequestTimeout)
	plan := PlanInit(hasHead, cfg.Sequencer && !recovering, cfg.TrustedHash, cfg.SyncFrom)
	if syncs && !hasHead {
		s.boot = &bootstrap[H]{plan: plan, init: s.init, peers: client, events: h.EventBus(),
			retryMin: cfg.InitRetryMin, retryMax: cfg.InitRetryMax, candidates: make(chan H, 1), log: s.log}
		s.gate.offer = s.boot.offer
	}
	sub, err := hp2p.NewSubscriber[H](s.net.PubSub(), names.MsgID,
		hp2p.WithSubscriberNetworkID(names.NetworkID), hp2p.WithSubscriberMetrics())
	if err != nil {
		return fmt.Errorf("create subscriber: %w", err)
	}
	stops, err := s.gate.join(ctx, sub, names.Topic)
	s.run.onStop(stops...)
	if err != nil {
		return err
	}
	s.run.goroutine(runCtx, s.gate.drain)

	if s.server, err = newExchangeServer(h, st, names.Protocol, cfg.Limits, s.log); err != nil {
		return err
	}
	s.run.onStop(s.server.Stop)
	if hasHead {
		if err := s.server.start(ctx); err != nil {
			return err
		}
	}
	// Every service, the sequencer's too, logs a status line and warns
	// when its height stops moving.
	s.run.goroutine(runCtx, func(ctx context.Context) {
		reportProgress(ctx, progressSource{
			height:      st.Height,
			job:         s.syncJob,
			peers:       func() int { return len(h.Network().Peers()) },
			initialised: s.init.done.Load,
		}, cfg.BlockTime, s.log)
	})

	if cfg.Sequencer {
		s.pub = &publisher[H]{kind: cfg.Kind, init: s.init, store: st, broadcast: s.gate.broadcast,
			recoverTo: cfg.RecoverTo, log: s.log}
		s.pub.recovering.Store(recovering)
		if recovering {
			s.log.Warn("the store is behind what this sequencer signed: syncing it from peers before publishing",
				"stored_height", st.Height(), "need_height", cfg.RecoverTo)
		}
	}
	if !syncs {
		// The sequencer is the chain's only source: it serves and gossips,
		// and has nothing to sync from anyone.
		s.run.onStop(s.run.work.stop)
		return nil
	}

	ex, err := hp2p.NewExchange[H](h, s.net.SeedIDs(), s.net.ConnectionGater(),
		hp2p.WithNetworkID[hp2p.ClientParameters](names.NetworkID),
		hp2p.WithChainID(chainID),
		hp2p.WithMaxHeadersPerRangeRequest(cfg.RequestSize),
		hp2p.WithRangeRequestTimeout[hp2p.ClientParameters](cfg.RequestTimeout),
		hp2p.WithMetrics[hp2p.ClientParameters]())
	if err != nil {
		return fmt.Errorf("create exchange client: %w", err)
	}
	if err := ex.Start(ctx); err != nil {
		return fmt.Errorf("start exchange client: %w", err)
	}
	s.run.onStop(ex.Stop, s.run.work.stop)

	var target func() uint64 // the syncer's, once it exists
	fetch := newFetcher[H](ex, client, cfg.Genesis, func() uint64 { return target() }, fetchConfig{
		RequestSize: cfg.RequestSize, RequestTimeout: cfg.RequestTimeout, RetryMin: cfg.RangeRetryMin, RetryMax: cfg.RangeRetryMax,
	}, s.log)
	s.run.onStop(func(context.Context) error { fetch.close(); return nil })
	if s.follow, err = newFollower[H](fetch, st, s.gate, cfg.BlockTime, s.log); err != nil {
		return err
	}
	target = s.follow.target
	s.run.onStop(s.follow.stop)
	if s.pub != nil {
		s.pub.stopSyncer = s.follow.stop
	}

	if hasHead {
		if err := s.follow.start(ctx); err != nil {
			return err
		}
	} else {
		s.run.goroutine(runCtx, s.boot.run)
	}
	s.run.goroutine(runCtx, s.follow.refresh)

	// A window, or a start at the network head: the retainer fills below
	// the base and prunes, once the store has its first header.
	headStart := cfg.SyncFrom == SyncFromHead && len(cfg.TrustedHash) == 0
	if !cfg.Sequencer && (cfg.Retain != 0 || headStart) {
		r := newRetainer[H](st, client, cfg.Genesis, retainConfig{
			Retain: cfg.Retain, Floor: cfg.Genesis.InitialHeight, RequestSize: cfg.RequestSize,
			RetryMin: cfg.RangeRetryMin, RetryMax: cfg.RangeRetryMax,
		}, s.log)
		s.run.goroutine(runCtx, r.run)
	}
	return nil
}

// onInit starts what waits for the store's first header: the server, and
// the syncer if the service syncs.
func (s *Service[H]) onInit(ctx context.Context) error {
	if err := s.server.start(ctx); err != nil {
		return err
	}
	if s.follow == nil || (s.pub != nil && !s.pub.recovering.Load()) {
		return nil
	}
	return s.follow.start(ctx)
}

// syncJob is the syncer's current job, if a syncer runs.
func (s *Service[H]) syncJob() (gosync.State, bool) {
	if s.follow == nil {
		return gosync.State{}, false
	}
	return s.follow.state()
}

// Stop stops every goroutine and component the service started, in reverse
// order, and flushes the store. If ctx ends first, Stop returns its error
// and the rest of the stopping finishes in the background. Stop before
// Start, and every Stop after the first, does nothing.
func (s *Service[H]) Stop(ctx context.Context) error {
	if !s.run.begun.Load() || !s.run.stopped.CompareAndSwap(false, true) {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- s.shutdown(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("stop %s sync service: %w", s.cfg.Kind, ctx.Err())
	}
}

// shutdown ends the goroutines, then stops the components in reverse
// start order.
func (s *Service[H]) shutdown(ctx context.Context) error {
	if s.run.cancel != nil {
		s.run.cancel()
	}
	s.run.wg.Wait()
	var errs []error
	for i := len(s.run.stops) - 1; i >= 0; i-- {
		errs = append(errs, s.run.stops[i](ctx))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop %s sync service: %w", s.cfg.Kind, err)
	}
	return nil
}

// openStore opens the kind's header store in ds, first moving a chain kept
// in go-header's old layout into it (once; a progress line every few
// seconds).
func openStore[H Header[H]](ctx context.Context, ds Datastore, kind Kind, log *slog.Logger, opts ...headerstore.Option) (*headerstore.Store[H], error) {
	var last time.Time
	migrated, err := headerstore.Migrate[H](ctx, ds.Pebble(), ds, kind.StorePrefix(), func(done, total uint64) {
		if now := time.Now(); now.Sub(last) >= migrateLogEvery || done == total {
			last = now
			log.Info("moving the stored chain to the height-ordered layout", "done", done, "total", total)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("migrate %s store: %w", kind, err)
	}
	if migrated {
		log.Info("moved the stored chain to the height-ordered layout")
	}
	st, err := headerstore.New[H](ds.Pebble(), kind.StorePrefix(), append([]headerstore.Option{headerstore.WithLogger(log)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("open %s store: %w", kind, err)
	}
	return st, nil
}

// syncEvery is how long a service's store may leave appends unsynced (see
// headerstore.Parameters.SyncEvery): a catch-up then pays an fsync every
// 50 ms, not one per range of 512 headers, while the durable height it
// reports trails by at most that; the sequencer syncs every header it
// publishes before it gossips it.
const syncEvery = 50 * time.Millisecond

// migrateLogEvery paces the migration's progress lines.
const migrateLogEvery = 5 * time.Second
