package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/headersync/headersync/api"
	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/every"
	"github.com/headersync/headersync/internal/p2pconf"
	"github.com/headersync/headersync/p2p"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/p2psync/peers"
	"github.com/headersync/headersync/signstate"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/types"
)

const (
	// failedStartCleanup bounds the stop of what a failed Start had started.
	failedStartCleanup = 10 * time.Second
	// lateStop bounds each component's stop once Stop's caller has given up.
	lateStop = 10 * time.Second
)

// Lifecycle errors.
var (
	// ErrAlreadyStarted is returned by a second Start.
	ErrAlreadyStarted = errors.New("node already started")
	// ErrStopped is returned by Start after Stop.
	ErrStopped = errors.New("node stopped")
)

// Options assemble a Node; FromHome reads them from a home directory.
type Options struct {
	Config   config.NodeConfig
	Genesis  *types.Genesis
	Identity crypto.PrivKey // libp2p identity
	Signer   *types.Signer  // the sequencer's key; sequencer only
	// SigningState is the sequencer's signing state file (sequencer only):
	// the last block it signed, its protection against signing a height
	// twice. A missing file is created from the stored head (a home from
	// before signing state).
	SigningState string
	// DataDir holds the pebble datastore. Alternatively Datastore supplies
	// one (tests); the node does not close a supplied datastore.
	DataDir   string
	Datastore p2psync.Datastore
	Logger    *slog.Logger
	Version   string
	// Sync tunes both sync services; zero fields take p2psync's defaults.
	Sync SyncTuning
}

// SyncTuning exposes the sync services' tuning knobs, for benchmarks.
type SyncTuning struct {
	RequestSize uint64
}

// Node is one headersync node: the libp2p client, the header sync service,
// the block sync service (sequencer and full nodes), the block producer
// (sequencer), the block/header cross-check (full) and the HTTP API. It
// follows the lifecycle contract (README, "Lifecycle").
type Node struct {
	opts    Options
	cfg     config.NodeConfig
	genesis *types.Genesis
	log     *slog.Logger

	ds  p2psync.Datastore
	p2p *p2p.Client
	// chain holds the header and block services in the genesis's format;
	// headers and blocks are its services as the node's format-free parts
	// see them (blocks nil on light nodes).
	chain   chainFormat
	headers syncService
	blocks  syncService
	// native is chain in the native format, nil in another: the
	// sequencer's producer and the full node's cross-check need its types.
	native   *nativeChain
	producer *producer        // sequencer only
	checker  *crossCheckStats // full only
	api      *api.Server

	mu       sync.Mutex
	started  bool
	running  bool          // Start succeeded: only then is "node stopped" news
	stopDone chan struct{} // made by the first Stop, closed when its teardown ends
	stopErr  error         // the teardown's error, written before stopDone closes
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stops    []func(context.Context) error // in start order
}

// New checks the options and builds a node; it starts nothing.
func New(o Options) (*Node, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cfg := o.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Genesis == nil {
		return nil, errors.New("new node: no genesis")
	}
	if err := o.Genesis.Validate(); err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	if cfg.Format.OrDefault() != o.Genesis.HeaderFormat() {
		return nil, fmt.Errorf("%w: format %q in the config does not match the genesis, a %s genesis", config.ErrInvalid, cfg.Format, o.Genesis.HeaderFormat())
	}
	if cfg.ChainID != o.Genesis.ChainID {
		return nil, fmt.Errorf("%w: chain_id %q in the config does not match chain_id %q in the genesis", config.ErrInvalid, cfg.ChainID, o.Genesis.ChainID)
	}
	if o.Identity == nil {
		return nil, errors.New("new node: no libp2p identity key")
	}
	switch {
	case cfg.Role == config.RoleSequencer && o.Signer == nil:
		return nil, errors.New("new node: a sequencer needs its signing key")
	case cfg.Role == config.RoleSequencer && !bytes.Equal(o.Signer.PublicKey(), o.Genesis.SequencerPubKey):
		return nil, fmt.Errorf("new node: the sequencer key %x is not the genesis sequencer_pubkey %x", []byte(o.Signer.PublicKey()), []byte(o.Genesis.SequencerPubKey))
	case cfg.Role == config.RoleSequencer && o.SigningState == "":
		return nil, errors.New("new node: a sequencer needs its signing state file")
	case cfg.Role != config.RoleSequencer && o.Signer != nil:
		return nil, fmt.Errorf("new node: a %s node signs nothing; it takes no sequencer key", cfg.Role)
	}
	if o.DataDir == "" && o.Datastore == nil {
		return nil, errors.New("new node: no data dir or datastore")
	}
	chain, err := chainFor(o.Genesis)
	if err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	native, _ := chain.(*nativeChain)
	if cfg.Role == config.RoleSequencer && native == nil {
		return nil, fmt.Errorf("%w: a sequencer produces the native format only; a %s chain's sequencer is its own software", config.ErrInvalid, o.Genesis.Format)
	}
	p2pCfg, err := p2pconf.Parse(cfg.P2P)
	if err != nil {
		return nil, err
	}
	client, err := p2p.New(p2pCfg, o.Identity, cfg.ChainID, nil, o.Logger.With("component", "p2p"),
		p2p.WithTopicScores(p2psync.TopicScores(o.Genesis)), p2p.WithDiscovery(discoveryOf(o.Genesis)))
	if err != nil {
		return nil, err
	}
	return &Node{opts: o, cfg: cfg, genesis: o.Genesis, log: o.Logger, p2p: client, chain: chain, native: native}, nil
}

// Role returns the node's role.
func (n *Node) Role() config.Role { return n.cfg.Role }

// Start opens the datastore and starts every component, in order: p2p
// client, header and block services, producer or cross-check, API. It
// follows the lifecycle contract (README, "Lifecycle"): ctx bounds only the
// start, the node runs until Stop, and a failed Start stops what it started
// before returning.
func (n *Node) Start(ctx context.Context) (err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.stopDone != nil:
		return ErrStopped
	case n.started:
		return ErrAlreadyStarted
	}
	n.started = true
	runCtx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	defer func() {
		if err != nil {
			stopCtx, stopCancel := context.WithTimeout(context.Background(), failedStartCleanup)
			defer stopCancel()
			_ = n.awaitStop(stopCtx, n.beginStop(stopCtx)) // the start error is the one worth reporting
		}
	}()

	if err = n.openDatastore(); err != nil {
		return err
	}
	if err := n.checkStoredChains(ctx); err != nil {
		return err
	}
	if err := n.p2p.Start(ctx); err != nil {
		return fmt.Errorf("start p2p client: %w", err)
	}
	n.stops = append(n.stops, n.p2p.Stop)

	var guard *signstate.Guard
	var recoverTo uint64
	if n.cfg.Role == config.RoleSequencer {
		if guard, recoverTo, err = n.loadSigningState(ctx); err != nil {
			return err
		}
	}
	if err := n.startServices(ctx, recoverTo); err != nil {
		return err
	}

	switch n.cfg.Role {
	case config.RoleSequencer:
		log := n.log.With("component", "producer")
		// Transactions accepted before a stop or crash, and in no block
		// journaled since, go first, in the order they were accepted.
		pool, err := openMempool(ctx, n.ds)
		if err != nil {
			return err
		}
		if k := pool.len(); k > 0 {
			log.Info("replayed queued transactions", "count", k)
		}
		n.producer = &producer{
			guard: guard, genesis: n.genesis, blockTime: time.Duration(n.cfg.BlockTime),
			headers: n.native.headers, blocks: n.native.blocks, publishHeaders: n.native.seqHeaders, publishBlocks: n.native.seqBlocks,
			pool: pool, journal: n.ds,
			failLog: every.Interval{Period: time.Minute}, lonely: every.Interval{Period: lonelyEvery},
			peers: func() int { return len(n.p2p.Peers()) }, log: log,
		}
		if recoverTo == 0 {
			if err := n.producer.reconcile(ctx); err != nil {
				return fmt.Errorf("recover sequencer state: %w", err)
			}
			if guard == nil {
				if n.producer.guard, err = n.migrateSigningState(ctx); err != nil {
					return err
				}
			}
		} else {
			n.producer.recovering.Store(true)
		}
		n.goRun(runCtx, n.producer.run)
	case config.RoleFull:
		trusted, _ := n.cfg.TrustedHashBytes() // validated in New
		var run func(context.Context)
		run, n.checker = n.chain.crossCheck(n.ds, n.genesis, trusted, n.log.With("component", "crosscheck"))
		n.goRun(runCtx, run)
	}

	if err := n.startAPI(ctx); err != nil {
		return err
	}
	n.running = true
	n.log.Info("node started", "role", string(n.cfg.Role), "chain_id", n.cfg.ChainID, "peer_id", n.p2p.ID().String(),
		"p2p", n.p2p.Addrs(), "api", n.APIAddr())
	return nil
}

func (n *Node) openDatastore() error {
	if n.opts.Datastore != nil {
		n.ds = n.opts.Datastore
		return nil
	}
	ds, err := store.Open(n.opts.DataDir, store.WithLogger(n.log.With("component", "store")))
	if err != nil {
		return err
	}
	n.ds = ds
	n.stops = append(n.stops, func(context.Context) error { return ds.Close() })
	return nil
}

func (n *Node) startServices(ctx context.Context, recoverTo uint64) error {
	base, err := syncConfig(n.cfg, n.genesis, recoverTo, n.opts.Sync)
	if err != nil {
		return err
	}
	// One reputation for both services: a peer banned by one is banned
	// by the other.
	syncLog := n.log.With("component", "sync")
	base.Reputation = peers.NewReputation(p2psync.BanThrough(n.p2p), syncLog)
	base.Logger = syncLog
	if err := n.chain.build(base, n.cfg.Role == config.RoleLight, n.p2p, n.ds); err != nil {
		return err
	}
	n.headers, n.blocks = n.chain.headerService(), n.chain.blockService()
	for _, svc := range []syncService{n.headers, n.blocks} {
		if svc == nil {
			continue
		}
		// Stop releases what a failed Start began, so it is registered first.
		n.stops = append(n.stops, svc.Stop)
		if err := svc.Start(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (n *Node) startAPI(ctx context.Context) error {
	process, err := processMetrics()
	if err != nil {
		return err
	}
	own, err := n.nodeMetrics()
	if err != nil {
		return err
	}
	srv, err := api.New(n.cfg.API.Listen, n, prometheus.Gatherers{own, process}, n.log.With("component", "api"))
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	n.api = srv // stopped first, by teardown
	return nil
}

// goRun runs f in a goroutine the node owns until ctx ends.
func (n *Node) goRun(ctx context.Context, f func(context.Context)) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f(ctx)
	}()
}

// Stop stops the node's goroutines and components in reverse order of
// start: API, producer and cross-check, block and header services (flushing
// their stores), the p2p client, the datastore. If ctx ends first, Stop
// returns an error wrapping ctx.Err() and the teardown goes on in the
// background (see teardown). It is safe before Start and more than once: a
// later call waits for the same teardown (within its own ctx) and returns
// nil.
func (n *Node) Stop(ctx context.Context) error {
	n.mu.Lock()
	first := n.stopDone == nil
	done := n.beginStop(ctx)
	n.mu.Unlock()
	select {
	case <-done:
		if !first {
			return nil // the first call reports the teardown's error
		}
		return n.stopErr
	case <-ctx.Done():
		return fmt.Errorf("stop node: %w", ctx.Err())
	}
}

// beginStop starts the teardown, once; mu is held.
func (n *Node) beginStop(ctx context.Context) chan struct{} {
	if n.stopDone == nil {
		done := make(chan struct{})
		n.stopDone = done
		go func() {
			n.stopErr = n.teardown(ctx)
			close(done)
		}()
	}
	return n.stopDone
}

// awaitStop waits for the teardown or for ctx.
func (n *Node) awaitStop(ctx context.Context, done chan struct{}) error {
	select {
	case <-done:
		return n.stopErr
	case <-ctx.Done():
		return fmt.Errorf("stop node: %w", ctx.Err())
	}
}

// teardown stops everything Start started, in reverse order. What it reads
// was written by Start before the teardown began.
//
// Each component is stopped within ctx while it lasts. Once the caller has
// given up (ctx ended, Stop returned), the rest is stopped in the
// background, each component given up to lateStop: given the ended ctx,
// they would abandon their own teardown half-done (a store not flushed, a
// goroutine left running) under the datastore being closed.
func (n *Node) teardown(ctx context.Context) error {
	stepCtx := func() (context.Context, context.CancelFunc) {
		if ctx.Err() == nil {
			return ctx, func() {}
		}
		return context.WithTimeout(context.Background(), lateStop)
	}
	stop := func(f func(context.Context) error) error {
		c, cancel := stepCtx()
		defer cancel()
		return f(c)
	}
	// The API goes first so no request sees a half-stopped node.
	var errs []error
	if n.api != nil {
		errs = append(errs, stop(n.api.Stop))
	}
	if n.cancel != nil {
		n.cancel()
	}
	n.wg.Wait()
	for i := len(n.stops) - 1; i >= 0; i-- {
		errs = append(errs, stop(n.stops[i]))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop node: %w", err)
	}
	if n.running {
		// After a failed Start the error is the news; a "node stopped"
		// line before it would read as if the node had run.
		n.log.Info("node stopped")
	}
	return nil
}

// APIAddr returns the address the API listens on ("" before Start).
func (n *Node) APIAddr() string {
	if n.api == nil {
		return ""
	}
	return n.api.Addr()
}

// P2P returns the node's libp2p client.
func (n *Node) P2P() *p2p.Client { return n.p2p }

// Headers returns the header sync service of a native-format node (nil in
// another format).
func (n *Node) Headers() *p2psync.Service[*types.SignedHeader] {
	if n.native == nil {
		return nil
	}
	return n.native.headers
}

// Blocks returns the block sync service of a native-format node, nil on a
// light node or in another format.
func (n *Node) Blocks() *p2psync.Service[*types.Block] {
	if n.native == nil {
		return nil
	}
	return n.native.blocks
}

// syncConfig is what the header and the block service share of their
// configuration, from the node's. On a full node sync_from and
// retain_headers apply to headers and blocks together: both services begin
// at the same place and keep the same window.
func syncConfig(cfg config.NodeConfig, genesis *types.Genesis, recoverTo uint64, tuning SyncTuning) (p2psync.Config, error) {
	trusted, err := cfg.TrustedHashBytes()
	if err != nil {
		return p2psync.Config{}, err
	}
	from, err := syncFrom(cfg.SyncFrom)
	if err != nil {
		return p2psync.Config{}, err
	}
	return p2psync.Config{
		Genesis:     genesis,
		Sequencer:   cfg.Role == config.RoleSequencer,
		TrustedHash: trusted,
		SyncFrom:    from,
		Retain:      cfg.RetainHeaders,
		RecoverTo:   recoverTo,
		BlockTime:   time.Duration(cfg.BlockTime),
		RequestSize: tuning.RequestSize,
	}, nil
}

// syncFrom maps config's sync_from onto p2psync's: config, which imports no
// service package, has its own copy of the values.
func syncFrom(v config.SyncFrom) (p2psync.SyncFrom, error) {
	if _, err := config.ParseSyncFrom(string(v)); err != nil {
		return "", err
	}
	from, err := p2psync.ParseSyncFrom(string(v))
	if err != nil {
		return "", fmt.Errorf("sync_from %q: %w", v, err)
	}
	return from, nil
}

// newService builds a sync service: the sequencer's (returned twice, as a
// service and as the sequencer that publishes) when cfg says so.
func newService[H p2psync.Header[H]](cfg p2psync.Config, net p2psync.Network, ds p2psync.Datastore) (*p2psync.Service[H], *p2psync.Sequencer[H], error) {
	if !cfg.Sequencer {
		svc, err := p2psync.New[H](cfg, net, ds)
		return svc, nil, err
	}
	seq, err := p2psync.NewSequencer[H](cfg, net, ds)
	if err != nil {
		return nil, nil, err
	}
	return seq.Service, seq, nil
}
