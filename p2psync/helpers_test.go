package p2psync_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/internal/loopback"
	"github.com/headersync/headersync/internal/p2pconf"
	"github.com/headersync/headersync/internal/testlog"
	"github.com/headersync/headersync/p2p"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/types"
)

const (
	chainID   = "gm"
	blockTime = 100 * time.Millisecond
	// waitFor bounds every condition polled on loopback.
	waitFor = 30 * time.Second
	tick    = 20 * time.Millisecond
)

// peerOpts describes one test peer's networking.
type peerOpts struct {
	key     crypto.PrivKey // identity; fresh if nil
	port    int            // fixed TCP port on 127.0.0.1; ephemeral if 0
	seeds   []string
	blocked []string
	logger  *slog.Logger // the test log if nil
}

// testPeer is a libp2p client on loopback and the datastore its services use.
type testPeer struct {
	t      *testing.T
	client *p2p.Client
	ds     *store.DB
	log    *slog.Logger
}

func newPeer(t *testing.T, o peerOpts) *testPeer {
	t.Helper()
	logger := o.logger
	if logger == nil {
		logger = testlog.New(t, slog.LevelInfo)
	}
	if o.key == nil {
		o.key = newKey(t)
	}
	listen := "/ip4/127.0.0.1/tcp/" + strconv.Itoa(o.port)
	cfg, err := p2pconf.Parse(config.P2PConfig{
		ListenAddress: []string{listen},
		Seeds:         o.seeds,
		BlockedPeers:  o.blocked,
	})
	require.NoError(t, err)
	client, err := p2p.New(cfg, o.key, chainID, nil, logger, p2p.WithTopicScores(p2psync.TopicScores(&types.Genesis{ChainID: chainID})))
	require.NoError(t, err)
	require.NoError(t, client.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, client.Stop(context.Background())) })
	return &testPeer{t: t, client: client, ds: memStore(t), log: logger}
}

func newKey(t *testing.T) crypto.PrivKey {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	require.NoError(t, err)
	return key
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	port, err := loopback.FreePort()
	require.NoError(t, err)
	return port
}

func seedAddr(t *testing.T, key crypto.PrivKey, port int) string {
	t.Helper()
	id, err := peer.IDFromPrivateKey(key)
	require.NoError(t, err)
	return "/ip4/127.0.0.1/tcp/" + strconv.Itoa(port) + "/p2p/" + id.String()
}

// addr returns the peer's full TCP multiaddr, for others to seed from.
func (p *testPeer) addr() string {
	p.t.Helper()
	for _, a := range p.client.Addrs() {
		return a.String()
	}
	p.t.Fatal("peer has no address")
	return ""
}

func (p *testPeer) id() peer.ID { return p.client.Host().ID() }

func (p *testPeer) connectedTo(other *testPeer) bool {
	return p.client.Host().Network().Connectedness(other.id()) == network.Connected
}

// waitServes waits until p is connected to every one of others and knows
// (from identify) that each serves kind's exchange protocol.
func (p *testPeer) waitServes(kind p2psync.Kind, others ...peer.ID) {
	p.t.Helper()
	proto := protocol.ID(kind.ProtocolID(chainID))
	ps, net := p.client.Host().Peerstore(), p.client.Host().Network()
	require.Eventually(p.t, func() bool {
		for _, o := range others {
			protos, err := ps.SupportsProtocols(o, proto)
			if net.Connectedness(o) != network.Connected || err != nil || len(protos) == 0 {
				return false
			}
		}
		return true
	}, waitFor, tick, "not every peer is known to serve %s", proto)
}

// serviceOpts varies a service's configuration.
type serviceOpts struct {
	sequencer      bool
	trustedHash    header.Hash
	requestTimeout time.Duration
	recoverTo      uint64
	requestSize    uint64 // headers per range request; the default if 0
	limits         p2psync.Limits
	syncFrom       p2psync.SyncFrom
	retain         uint64
}

// startService starts a service on p: the sequencer's (see
// startSequencerService for the one that publishes) if o says so.
func startService[H p2psync.Header[H]](t *testing.T, p *testPeer, kind p2psync.Kind, g *types.Genesis, o serviceOpts) *p2psync.Service[H] {
	t.Helper()
	if o.sequencer {
		return startSequencerService[H](t, p, kind, g, o).Service
	}
	svc, err := p2psync.New[H](serviceConfig(p, kind, g, o), p.client, p.ds)
	require.NoError(t, err)
	require.NoError(t, svc.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, svc.Stop(context.Background())) })
	return svc
}

// startSequencerService starts a sequencer's service on p.
func startSequencerService[H p2psync.Header[H]](t *testing.T, p *testPeer, kind p2psync.Kind, g *types.Genesis, o serviceOpts) *p2psync.Sequencer[H] {
	t.Helper()
	svc, err := p2psync.NewSequencer[H](serviceConfig(p, kind, g, o), p.client, p.ds)
	require.NoError(t, err)
	require.NoError(t, svc.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, svc.Stop(context.Background())) })
	return svc
}

func serviceConfig(p *testPeer, kind p2psync.Kind, g *types.Genesis, o serviceOpts) p2psync.Config {
	return p2psync.Config{
		Kind:           kind,
		Genesis:        g,
		Sequencer:      o.sequencer,
		TrustedHash:    o.trustedHash,
		BlockTime:      blockTime,
		Logger:         p.log,
		InitRetryMin:   50 * time.Millisecond,
		InitRetryMax:   500 * time.Millisecond,
		RangeRetryMin:  50 * time.Millisecond,
		RangeRetryMax:  500 * time.Millisecond,
		RequestTimeout: o.requestTimeout,
		RecoverTo:      o.recoverTo,
		RequestSize:    o.requestSize,
		Limits:         o.limits,
		SyncFrom:       o.syncFrom,
		Retain:         o.retain,
	}
}

func seqHeaderService(t *testing.T, p *testPeer, g *types.Genesis, o serviceOpts) *p2psync.Sequencer[*types.SignedHeader] {
	o.sequencer = true
	return startSequencerService[*types.SignedHeader](t, p, p2psync.Headers, g, o)
}

func headerService(t *testing.T, p *testPeer, g *types.Genesis, o serviceOpts) *p2psync.Service[*types.SignedHeader] {
	return startService[*types.SignedHeader](t, p, p2psync.Headers, g, o)
}

// sequencer is a chain generator whose blocks are published through a
// sequencer peer's header (and optionally block) service.
type sequencer struct {
	t       *testing.T
	gen     *chaingen.Generator
	peer    *testPeer
	headers *p2psync.Sequencer[*types.SignedHeader]
	blocks  *p2psync.Sequencer[*types.Block] // nil unless withBlocks
	history []*types.Block
}

func newGenerator(t *testing.T, expected int) *chaingen.Generator {
	t.Helper()
	gen, err := chaingen.New(chainID, expected, chaingen.Options{})
	require.NoError(t, err)
	return gen
}

func startSequencer(t *testing.T, gen *chaingen.Generator, o peerOpts, withBlocks bool) *sequencer {
	t.Helper()
	p := newPeer(t, o)
	s := &sequencer{t: t, gen: gen, peer: p}
	s.headers = seqHeaderService(t, p, gen.Genesis, serviceOpts{})
	if withBlocks {
		s.blocks = startSequencerService[*types.Block](t, p, p2psync.Blocks, gen.Genesis, serviceOpts{sequencer: true})
	}
	return s
}

// publish produces and publishes n blocks.
func (s *sequencer) publish(n int) {
	s.t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		b, err := s.gen.NextBlock([]byte("tx"))
		require.NoError(s.t, err)
		if s.blocks != nil {
			require.NoError(s.t, s.blocks.Publish(ctx, b))
		}
		require.NoError(s.t, s.headers.Publish(ctx, b.SignedHeader()))
		s.history = append(s.history, b)
	}
}

func (s *sequencer) head() *types.SignedHeader { return s.history[len(s.history)-1].SignedHeader() }

// at returns the header the sequencer produced at height h.
func (s *sequencer) at(h uint64) *types.SignedHeader {
	return s.history[h-s.gen.Genesis.InitialHeight].SignedHeader()
}

// waitHead waits until svc's stored head is want.
func waitHead[H p2psync.Header[H]](t *testing.T, svc *p2psync.Service[H], want header.Hash) {
	t.Helper()
	deadline := time.After(waitFor)
	poll := time.NewTicker(tick)
	defer poll.Stop()
	for {
		h, err := svc.Head(context.Background())
		if err == nil && h.Hash().String() == want.String() {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("head never reached %s: height %d, err %v", want, svc.Height(), err)
		case <-poll.C:
		}
	}
}

// requireSameChain checks that svc holds exactly the sequencer's headers
// from height from to its head.
func requireSameChain(t *testing.T, s *sequencer, svc *p2psync.Service[*types.SignedHeader], from uint64) {
	t.Helper()
	ctx := context.Background()
	for h := from; h <= svc.Height(); h++ {
		got, err := svc.GetByHeight(ctx, h)
		require.NoError(t, err, "height %d", h)
		require.Equal(t, s.at(h).Hash(), got.Hash(), "height %d", h)
	}
}

// memStore is an in-memory database (pebble on a memory file system),
// closed when the test ends.
func memStore(t *testing.T) *store.DB {
	t.Helper()
	ds := store.Memory()
	t.Cleanup(func() { require.NoError(t, ds.Close()) })
	return ds
}
