package p2psync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/celestiaorg/go-header"
	hp2p "github.com/celestiaorg/go-header/p2p"
	hstore "github.com/celestiaorg/go-header/store"
	gosync "github.com/celestiaorg/go-header/sync"
	"github.com/ipfs/go-datastore"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/net/conngater"

	"github.com/headersync/headersync/p2p"
)

// Network is what a Service needs of the node's libp2p client.
type Network interface {
	Host() host.Host
	PubSub() *pubsub.PubSub
	// ConnectionGater is where the exchange bans misbehaving peers.
	ConnectionGater() *conngater.BasicConnectionGater
	// SeedIDs are the configured seeds: the exchange's trusted peers.
	SeedIDs() []peer.ID
}

// Service is one sync service: store, gossip subscriber, exchange server,
// exchange client and syncer for headers of type H.
type Service[H Header[H]] struct {
	cfg     Config
	net     Network
	ds      datastore.Batching
	watcher *commitWatcher // under the store: knows which head is on disk
	log     *slog.Logger
	proto   protocol.ID

	store        *hstore.Store[H]
	sub          *hp2p.Subscriber[H]
	subscription header.Subscription[H]
	server       *hp2p.ExchangeServer[H]
	limiter      *requestLimiter // in front of the server (limits.go)
	work         inflight        // server handlers and gossip validations running
	serving      atomic.Bool     // the server is started
	exchange     *hp2p.Exchange[H]
	getter       *netGetter[H] // the syncer's view of the network
	syncer       *gosync.Syncer[H]

	// syncerVerify is the syncer's gossip verifier, set when it starts.
	syncerVerify atomic.Pointer[func(context.Context, H) error]
	// publishing holds hashes this node is broadcasting, so its own gossip
	// validator accepts them without asking the syncer.
	publishing sync.Map
	gossip     gossipCounts
	strikes    strikes     // peers' recent failures to answer
	refusedLog onceAMinute // when each peer's refused requests were last logged
	banned     sync.Map    // peer.ID -> struct{}: peers this service banned

	plan          InitPlan
	initMu        sync.Mutex // serialises initialisation and Publish
	initialised   atomic.Bool
	syncerRunning atomic.Bool
	syncerStarted chan struct{} // closed once the syncer runs (refreshHead)
	startedOnce   sync.Once
	initErr       atomic.Pointer[string] // last failed attempt to get the first header
	recovering    atomic.Bool            // a sequencer syncing its chain back (Config.RecoverTo)
	candidates    chan H                 // first-header candidates seen in gossip

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stops   []func(context.Context) error // components to stop, in start order
	begun   atomic.Bool
	stopped atomic.Bool
}

// New checks cfg and builds a service over the node's network and
// datastore. It starts nothing.
func New[H Header[H]](cfg Config, net Network, ds datastore.Batching) (*Service[H], error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if net == nil || ds == nil {
		return nil, errors.New("p2psync: nil network or datastore")
	}
	return &Service[H]{
		cfg:        cfg,
		net:        net,
		ds:         ds,
		log:        cfg.Logger.With("service", string(cfg.Kind)),
		proto:      protocol.ID(cfg.Kind.ProtocolID(cfg.Genesis.ChainID)),
		candidates: make(chan H, 1),

		syncerStarted: make(chan struct{}),
	}, nil
}

// Start opens the store and starts every component. It returns as soon as
// they run: a service without a stored head initialises in the background.
// After a failed Start, call Stop to release what was started.
func (s *Service[H]) Start(ctx context.Context) error {
	if !s.begun.CompareAndSwap(false, true) {
		return errors.New("sync service already started")
	}
	runCtx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	if err := s.start(ctx, runCtx); err != nil {
		return fmt.Errorf("start %s sync service: %w", s.cfg.Kind, err)
	}
	return nil
}

func (s *Service[H]) start(ctx, runCtx context.Context) error {
	chainID := s.cfg.Genesis.ChainID
	networkID := s.cfg.Kind.NetworkID(chainID)
	prefix := s.cfg.Kind.StorePrefix()

	watcher, err := newCommitWatcher(ctx, s.ds, prefix)
	if err != nil {
		return err
	}
	s.watcher = watcher
	batch := s.cfg.WriteBatchSize
	if s.cfg.Sequencer {
		batch = 1 // each published header is written, and waited for, alone
	}
	st, err := hstore.NewStore[H](watcher, hstore.WithStorePrefix(prefix), hstore.WithWriteBatchSize(batch), hstore.WithMetrics())
	if err != nil {
		return fmt.Errorf("create store: %w", err)
	}
	if err := st.Start(ctx); err != nil {
		return fmt.Errorf("start store: %w", err)
	}
	s.store = st
	s.stops = append(s.stops, st.Stop)

	// Head loads the stored head; the store knows its height only after it.
	_, err = st.Head(ctx)
	hasHead := err == nil
	if err != nil && !errors.Is(err, header.ErrNoHead) {
		return fmt.Errorf("read stored head: %w", err)
	}

	sub, err := hp2p.NewSubscriber[H](s.net.PubSub(), p2p.MsgID,
		hp2p.WithSubscriberNetworkID(networkID), hp2p.WithSubscriberMetrics())
	if err != nil {
		return fmt.Errorf("create subscriber: %w", err)
	}
	if err := sub.SetVerifier(s.verifyGossip); err != nil {
		return fmt.Errorf("set gossip verifier: %w", err)
	}
	if err := sub.Start(ctx); err != nil {
		return fmt.Errorf("join topic %s: %w", s.cfg.Kind.TopicID(chainID), err)
	}
	s.sub = sub
	s.stops = append(s.stops, sub.Stop)

	// Joining the topic is not enough to be in its mesh: the node must
	// subscribe, or it would neither receive nor relay gossip.
	subscription, err := sub.Subscribe()
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", s.cfg.Kind.TopicID(chainID), err)
	}
	s.subscription = subscription
	s.stops = append(s.stops, func(context.Context) error { subscription.Cancel(); return nil })
	s.wg.Add(1)
	go s.drainGossip(runCtx)

	s.limiter = newRequestLimiter(s.cfg.Limits, &s.work, s.logRefused)
	server, err := hp2p.NewExchangeServer[H](limitedHost{Host: s.net.Host(), lim: s.limiter}, st,
		hp2p.WithNetworkID[hp2p.ServerParameters](networkID), hp2p.WithMetrics[hp2p.ServerParameters](),
		// A peer gets 5 s, not go-header's minute, to send its request: a
		// stream that sends nothing holds one of the limited slots.
		hp2p.WithReadDeadline[hp2p.ServerParameters](requestReadDeadline))
	if err != nil {
		return fmt.Errorf("create exchange server: %w", err)
	}
	s.server = server
	s.stops = append(s.stops, func(ctx context.Context) error {
		if !s.serving.Load() {
			return nil
		}
		return server.Stop(ctx)
	})
	if hasHead {
		if err := s.startServer(ctx); err != nil {
			return err
		}
	}

	if hasHead {
		s.log.Info("resumed from height", "height", st.Height())
	}
	// Every service, the sequencer's too, logs a status line and warns
	// when its height stops moving.
	s.wg.Add(1)
	go s.reportProgress(runCtx)

	recovering := s.cfg.Sequencer && st.Height() < s.cfg.RecoverTo
	s.recovering.Store(recovering)
	s.plan = PlanInit(hasHead, s.cfg.Sequencer && !recovering, s.cfg.TrustedHash)
	if recovering {
		s.log.Warn("the store is behind what this sequencer signed: syncing it from peers before publishing",
			"stored_height", st.Height(), "need_height", s.cfg.RecoverTo)
	}
	if s.cfg.Sequencer && !recovering {
		// The sequencer is the chain's only source: it serves and gossips,
		// and has nothing to sync from anyone.
		s.initialised.Store(hasHead)
		return nil
	}

	ex, err := hp2p.NewExchange[H](s.net.Host(), s.net.SeedIDs(), s.net.ConnectionGater(),
		hp2p.WithNetworkID[hp2p.ClientParameters](networkID),
		hp2p.WithChainID(chainID),
		hp2p.WithMaxHeadersPerRangeRequest(s.cfg.RequestSize),
		hp2p.WithRangeRequestTimeout[hp2p.ClientParameters](s.cfg.RequestTimeout),
		hp2p.WithMetrics[hp2p.ClientParameters]())
	if err != nil {
		return fmt.Errorf("create exchange client: %w", err)
	}
	if err := ex.Start(ctx); err != nil {
		return fmt.Errorf("start exchange client: %w", err)
	}
	s.exchange = ex
	s.stops = append(s.stops, ex.Stop)

	s.getter = &netGetter[H]{Getter: ex, s: s, ahead: make(map[uint64]*ahead[H]), slots: make(chan struct{}, maxInFlight)}
	syncer, err := gosync.NewSyncer[H](s.getter, st, syncerSubscriber[H]{s},
		gosync.WithBlockTime(s.cfg.BlockTime), gosync.WithMetrics(),
		// go-header re-trusts any head a peer offers once the stored one
		// is older than its trusting period (two weeks by default), a rule
		// for validator sets that unbond. Here trust comes from the genesis
		// key, which does not expire: a node offline for a month resumes
		// from its own head like any other.
		gosync.WithTrustingPeriod(trustForever))
	if err != nil {
		return fmt.Errorf("create syncer: %w", err)
	}
	s.syncer = syncer

	if hasHead {
		s.initialised.Store(true)
		if err := s.startSyncer(ctx); err != nil {
			return err
		}
	} else {
		s.wg.Add(1)
		go s.initLoop(runCtx)
	}
	s.wg.Add(1)
	go s.refreshHead(runCtx)
	return nil
}

// startServer starts answering peers, once the store has a head. Before
// that there is nothing to serve, and go-header's store must not be asked
// for its head while Init is writing it: Head reads a head Init has flushed
// but not yet published and moves the store's height, and Init then aborts
// the process ("headers given to the heightSub are in the wrong order").
func (s *Service[H]) startServer(ctx context.Context) error {
	if s.serving.Load() {
		return nil
	}
	if err := s.server.Start(ctx); err != nil {
		return fmt.Errorf("start exchange server: %w", err)
	}
	s.serving.Store(true)
	return nil
}

// trustForever is the syncer's trusting period: about a century.
const trustForever = 100 * 365 * 24 * time.Hour

// requestReadDeadline bounds how long the server waits for a request.
const requestReadDeadline = 5 * time.Second

// logRefused logs a peer's refused requests at most once a minute per peer.
func (s *Service[H]) logRefused(p peer.ID, why string) {
	if !s.refusedLog.allow(p) {
		return
	}
	s.log.Warn("refusing exchange requests from peer", "peer", p, "reason", why, "refused_total", s.limiter.refused.Load())
}

// startSyncer starts the syncer once the store has a head.
func (s *Service[H]) startSyncer(ctx context.Context) error {
	if err := s.syncer.Start(ctx); err != nil {
		s.syncerVerify.Store(nil)
		return fmt.Errorf("start syncer: %w", err)
	}
	s.syncerRunning.Store(true)
	s.startedOnce.Do(func() { close(s.syncerStarted) })
	return nil
}

// Stop stops every goroutine and component the service started, in reverse
// order, and flushes the store. It is safe after a failed Start; later calls
// do nothing.
func (s *Service[H]) Stop(ctx context.Context) error {
	if !s.stopped.CompareAndSwap(false, true) {
		return nil
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	var errs []error
	if s.syncerRunning.Load() {
		errs = append(errs, s.syncer.Stop(ctx))
	}
	if s.getter != nil {
		s.getter.close()
	}
	// go-header's server and validators may still be running for peers;
	// end that work before the components beneath it stop.
	s.work.close()
	for i := len(s.stops) - 1; i >= 0; i-- {
		errs = append(errs, s.stops[i](ctx))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop %s sync service: %w", s.cfg.Kind, err)
	}
	return nil
}

// refreshHead asks for the network head whenever the subjective head has
// gone stale. Gossip usually moves the head; this catches a node up when
// gossip is silent, e.g. a node started after the sequencer went quiet.
// Once the syncer runs, it first asks the peers at once (askPeersNow).
func (s *Service[H]) refreshHead(ctx context.Context) {
	defer s.wg.Done()
	select {
	case <-ctx.Done():
		return
	case <-s.syncerStarted:
	}
	s.askPeersNow(ctx)
	t := time.NewTicker(max(s.cfg.BlockTime, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.syncer.Head(ctx); err != nil && ctx.Err() == nil {
			s.log.Debug("refresh network head", "err", err)
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
func (s *Service[H]) askPeersNow(ctx context.Context) {
	stored, err := s.store.Head(ctx)
	if err != nil {
		return // no head: the syncer does not run without one
	}
	head, err := s.getter.Head(ctx, header.WithTrustedHead[H](stored))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Debug("ask peers for their head", "err", err)
		}
		return
	}
	if head.Height() <= stored.Height() {
		return
	}
	if v := s.syncerVerify.Load(); v != nil {
		if err := (*v)(ctx, head); err != nil && ctx.Err() == nil {
			s.log.Debug("peers' head not taken", "height", head.Height(), "err", err)
		}
	}
}

// drainGossip consumes the subscription: gossip reaches the store through
// the validator, but an unread subscription would make pubsub drop messages.
func (s *Service[H]) drainGossip(ctx context.Context) {
	defer s.wg.Done()
	for {
		if _, err := s.subscription.NextHeader(ctx); err != nil {
			return
		}
	}
}
