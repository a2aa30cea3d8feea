package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/ipfs/go-datastore"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
	"github.com/libp2p/go-libp2p/p2p/net/conngater"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/headersync/headersync/config"
)

// Config is what a Client is built from: values already parsed and
// validated (the config package turns the configuration file's strings into
// these and reports a bad one by its field).
type Config struct {
	// Listen lists the addresses the host listens on; at least one.
	Listen []ma.Multiaddr
	// Seeds are dialled at start and kept connected.
	Seeds []peer.AddrInfo
	// Blocked peers are never dialled nor accepted; a non-empty Allowed
	// admits only the peers it lists and wins over Blocked.
	Blocked, Allowed []peer.ID
	// MaxPeers bounds the node's connections (0: DefaultMaxPeers): the
	// connection manager trims back to three quarters of it when more are
	// open, and discovery dials only while fewer than DiscoveryTarget are.
	MaxPeers int
}

// DefaultMaxPeers and MinMaxPeers are config's (p2p.max_peers).
const (
	DefaultMaxPeers = config.DefaultMaxPeers
	MinMaxPeers     = config.MinMaxPeers
)

// DiscoveryTarget is how many connections discovery aims for: it looks
// peers up and dials them only while the node has fewer. A line of seeds
// gives each node two links; discovery adds random ones up to this many,
// so that the network is well connected without every node dialling every
// other (whose cost grows with the size of the network).
func DiscoveryTarget(maxPeers int) int {
	return max(MinMaxPeers, maxPeers/4)
}

// Client is the node's libp2p client: one host, one gossipsub router and one
// DHT shared by all sync services. Create it with New; it follows the
// repository's lifecycle contract (README, "Lifecycle"): Start creates the
// host and starts the loops, which run until Stop.
type Client struct {
	logger  *slog.Logger
	key     crypto.PrivKey
	id      peer.ID
	chainID string
	// discovery is the DHT and rendezvous key the client uses.
	discovery Discovery
	ds        datastore.Batching
	listen    []ma.Multiaddr
	maxPeers  int             // bound on connections (Config.MaxPeers)
	seeds     []peer.AddrInfo // the seeds to dial: not ourselves, not gated
	gated     []peer.AddrInfo // seeds the gating rules refuse, reported at Start
	gater     *gater
	bans      *banList

	topicScores map[string]*pubsub.TopicScoreParams // gossipsub scoring, if set
	scores      scores                              // the latest gossipsub scores
	chains      chainRecords                        // peers found to run another chain

	// advertiseSoon and findSoon make the discovery loops run now rather than
	// at their next tick; raised when a seed connection opens.
	advertiseSoon signal
	findSoon      signal

	mu      sync.Mutex
	state   clientState
	host    host.Host
	pubsub  *pubsub.PubSub
	dht     *dht.IpfsDHT
	cancel  context.CancelFunc // ends the client's own context, made by Start
	stopped chan struct{}      // closed when teardown has finished
	stopErr error              // written before stopped is closed
	loops   sync.WaitGroup
}

type clientState int

const (
	stateNew clientState = iota
	stateRunning
	stateStopped
)

// New validates its inputs and prepares a client; it starts nothing. key is
// the node's identity (see LoadOrCreateIdentity). ds, if not nil, holds the
// DHT's records under /p2p/dht and must stay open until Stop returns; with
// nil they are kept in memory. logger may be nil.
func New(cfg Config, key crypto.PrivKey, chainID string, ds datastore.Batching, logger *slog.Logger, opts ...Option) (*Client, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if key == nil {
		return nil, errors.New("new p2p client: no identity key")
	}
	if key.Type() != cryptopb.KeyType_Ed25519 {
		return nil, fmt.Errorf("new p2p client: identity key type %s, want Ed25519", key.Type())
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("new p2p client: derive peer ID: %w", err)
	}
	if err := validateChainID(chainID); err != nil {
		return nil, fmt.Errorf("new p2p client: %w", err)
	}
	if len(cfg.Listen) == 0 {
		return nil, errors.New("new p2p client: no listen address")
	}
	maxPeers := cfg.MaxPeers
	if maxPeers == 0 {
		maxPeers = DefaultMaxPeers
	}
	if maxPeers < MinMaxPeers {
		return nil, fmt.Errorf("new p2p client: max peers %d; expected at least %d", cfg.MaxPeers, MinMaxPeers)
	}
	basic, err := conngater.NewBasicConnectionGater(nil) // bans live in memory, bounded by banList
	if err != nil {
		return nil, fmt.Errorf("new p2p client: create connection gater: %w", err)
	}
	o := options{maxBans: defaultMaxBans, banTTL: defaultBanTTL}
	for _, opt := range opts {
		opt(&o)
	}
	disc := ChainDiscovery(chainID)
	if o.discovery != nil {
		disc = *o.discovery
	}
	if disc.ProtocolPrefix == "" || disc.Namespace == "" {
		return nil, fmt.Errorf("new p2p client: discovery %+v: a protocol prefix and a namespace are needed", disc)
	}
	rules := newPeerRules(cfg.Blocked, cfg.Allowed)
	dial, gated := splitSeeds(cfg.Seeds, id, rules)
	for _, s := range cfg.Seeds {
		if s.ID == id {
			// Normal with a seed list shared by every node, but said, so
			// that a node given only itself as seed is not a mystery.
			logger.Info("not dialling seed: it is this node", "seed", s.ID)
		}
	}
	return &Client{
		logger:        logger,
		key:           key,
		id:            id,
		chainID:       chainID,
		ds:            ds,
		listen:        slices.Clone(cfg.Listen),
		maxPeers:      maxPeers,
		seeds:         dial,
		gated:         gated,
		gater:         &gater{rules: rules, bans: basic},
		bans:          newBanList(basic, o.maxBans, o.banTTL, logger),
		advertiseSoon: newSignal(),
		findSoon:      newSignal(),
		topicScores:   o.topicScores,
		discovery:     disc,
	}, nil
}

// Start creates the host, the DHT and gossipsub, and starts dialling seeds
// and discovering peers. ctx bounds only this starting work: everything runs
// until Stop. If Start fails, nothing is left running. A second Start
// returns ErrAlreadyStarted, a Start after Stop ErrStopped.
func (c *Client) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state {
	case stateRunning:
		return ErrAlreadyStarted
	case stateStopped:
		return ErrStopped
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start p2p client: %w", err)
	}

	h, err := newHost(c.key, c.listen, c.gater, c.maxPeers)
	if err != nil {
		return fmt.Errorf("start libp2p host: %w", err)
	}
	kad, err := newDHT(h, c.ds, c.discovery.ProtocolPrefix, c.seeds, c.gater)
	if err != nil {
		return errors.Join(err, h.Close())
	}
	// The client's own context: Stop ends it, never the caller's.
	runCtx, cancel := context.WithCancel(context.Background())
	ps, err := newPubSub(runCtx, h, c.topicScores, &c.scores)
	if err != nil {
		cancel()
		return errors.Join(err, kad.Close(), h.Close())
	}

	identified, err := subscribeIdentify(h)
	if err != nil {
		cancel()
		return errors.Join(fmt.Errorf("subscribe to identify events: %w", err), kad.Close(), h.Close())
	}
	if err := ctx.Err(); err != nil {
		// Starting took longer than the caller allows: release it all.
		cancel()
		return errors.Join(fmt.Errorf("start p2p client: %w", err), identified.Close(), kad.Close(), h.Close())
	}
	c.loops.Go(func() { c.runChainWatch(runCtx, identified) })

	for _, s := range c.gated {
		c.logger.Warn("not dialling seed: it is blocked or not allowed by the p2p configuration", "seed", s.ID)
	}
	wakes := make(map[peer.ID]signal, len(c.seeds))
	for _, s := range c.seeds {
		wakes[s.ID] = newSignal()
	}
	notifiee := watchSeeds(wakes)
	h.Network().Notify(notifiee)

	for _, s := range c.seeds {
		c.loops.Go(func() { c.runSeed(runCtx, h, s, wakes[s.ID]) })
	}
	rd := drouting.NewRoutingDiscovery(kad)
	c.loops.Go(func() { c.runAdvertise(runCtx, kad, rd, c.advertiseSoon) })
	c.loops.Go(func() { c.runFind(runCtx, h, kad, rd, c.findSoon) })
	c.loops.Go(func() { c.bans.run(runCtx) })

	c.host, c.pubsub, c.dht = h, ps, kad
	c.cancel = cancel
	c.stopped = make(chan struct{})
	c.state = stateRunning
	go c.teardown(runCtx, h, kad, notifiee)

	c.logger.Info("p2p client started", "peer_id", h.ID(), "addrs", h.Addrs(), "seeds", len(c.seeds), "chain_id", c.chainID)
	return nil
}

// teardown owns the shutdown: it waits for the client's context to end (by
// Stop), then stops everything in reverse order of Start. gossipsub stops
// with the context itself. It runs apart from Stop so that a Stop whose ctx
// ends first can return while teardown finishes.
func (c *Client) teardown(ctx context.Context, h host.Host, kad *dht.IpfsDHT, notifiee network.Notifiee) {
	<-ctx.Done()
	c.loops.Wait()
	h.Network().StopNotify(notifiee)
	err := kad.Close()
	if err != nil {
		err = fmt.Errorf("close DHT: %w", err)
	}
	if hostErr := h.Close(); hostErr != nil {
		err = errors.Join(err, fmt.Errorf("close libp2p host: %w", hostErr))
	}
	c.stopErr = err
	c.logger.Info("p2p client stopped")
	close(c.stopped)
}

// Stop stops the client and waits until every goroutine it started has
// exited and the host has been closed, or until ctx ends: then it returns
// an error wrapping ctx.Err() and the teardown finishes in the background.
// It is safe before Start, after a failed Start and more than once; a later
// call waits for the same teardown (within its own ctx) and returns nil.
func (c *Client) Stop(ctx context.Context) error {
	c.mu.Lock()
	first := c.state != stateStopped
	c.state = stateStopped
	cancel, stopped := c.cancel, c.stopped
	c.mu.Unlock()
	if stopped == nil {
		return nil
	}
	cancel()
	select {
	case <-stopped:
	case <-ctx.Done():
		return fmt.Errorf("stop p2p client: %w", ctx.Err())
	}
	if !first {
		return nil
	}
	if c.stopErr != nil {
		return fmt.Errorf("stop p2p client: %w", c.stopErr)
	}
	return nil
}

// ID is the node's peer ID, known before Start.
func (c *Client) ID() peer.ID { return c.id }

// Host is the libp2p host, or nil before Start.
func (c *Client) Host() host.Host {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.host
}

// PubSub is the gossipsub router shared by the node's services, or nil
// before Start.
func (c *Client) PubSub() *pubsub.PubSub {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pubsub
}

// ConnectionGater is the gater for runtime bans, as go-header's exchange
// expects: a peer blocked through it is refused in both directions, even if
// AllowedPeers lists it. Bans are kept in memory only, and bounded: see Ban,
// which is the way for this repository's code to ban a peer; peers go-header
// blocks here directly are bounded the same way once the sweep sees them.
// It is valid before Start.
func (c *Client) ConnectionGater() *conngater.BasicConnectionGater {
	return c.gater.bans
}

// SeedIDs lists the seeds the client dials, for go-header's trusted peers.
// Seeds that the gating rules refuse, and the node itself, are left out.
func (c *Client) SeedIDs() []peer.ID {
	ids := make([]peer.ID, len(c.seeds))
	for i, s := range c.seeds {
		ids[i] = s.ID
	}
	return ids
}

// discoverySoon makes the discovery loops run now: a new seed connection is
// the moment the DHT becomes usable.
func (c *Client) discoverySoon() {
	c.advertiseSoon.raise()
	c.findSoon.raise()
}
