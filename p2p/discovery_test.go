package p2p

import (
	"context"
	"log/slog"
	"testing"

	"github.com/libp2p/go-libp2p/core/discovery"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	mh "github.com/multiformats/go-multihash"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// advertisedOn reports whether on's DHT holds a provider record of p for
// the chain's discovery namespace. It fails nothing itself: it runs as an
// Eventually condition, off the test goroutine.
func advertisedOn(on *Client, p peer.ID) (bool, error) {
	key, err := mh.Sum([]byte(ChainDiscovery(testChainID).Namespace), mh.SHA2_256, -1)
	if err != nil {
		return false, err
	}
	providers, err := on.dht.ProviderStore().GetProviders(context.Background(), key)
	if err != nil {
		return false, err
	}
	for _, ai := range providers {
		if ai.ID == p {
			return true, nil
		}
	}
	return false, nil
}

func peerInfo(t *testing.T, of *Client, p peer.ID) PeerInfo {
	t.Helper()
	for _, info := range of.Peers() {
		if info.ID == p {
			return info
		}
	}
	t.Fatalf("%s is not connected to %s", of.ID(), p)
	return PeerInfo{}
}

func TestSeedsAndDHTDiscovery(t *testing.T) {
	a := startClient(t, loopbackConfig(), nil, nil)
	for _, addr := range a.Addrs() {
		require.True(t, hasProtocol(addr, ma.P_P2P), "%s has no /p2p/ part", addr)
	}

	// B knows A by its TCP address, C by its QUIC address.
	b := startClient(t, loopbackConfig(addrWith(t, a, ma.P_TCP)), nil, nil)
	require.Eventually(t, func() bool { return connected(a, b) && connected(b, a) }, eventually, tick)
	require.Equal(t, []peer.ID{a.ID()}, b.SeedIDs())

	// B advertises itself through A, its only DHT peer.
	var lookupErr error
	require.Eventually(t, func() bool {
		ok, err := advertisedOn(a, b.ID())
		lookupErr = err
		return ok || err != nil
	}, eventually, tick)
	require.NoError(t, lookupErr)

	c := startClient(t, loopbackConfig(addrWith(t, a, ma.P_QUIC_V1)), nil, nil)
	require.Eventually(t, func() bool { return connected(c, a) }, eventually, tick)
	// C was told only about A, and finds B through the DHT: by the DHT's own
	// lookups or by the namespace search, whichever comes first.
	require.Eventually(t, func() bool { return connected(c, b) && connected(b, c) }, eventually, tick)

	bToA := peerInfo(t, b, a.ID())
	assert.Equal(t, "outbound", bToA.Direction)
	assert.True(t, hasProtocol(bToA.Addr, ma.P_TCP), bToA.Addr.String())
	assert.False(t, bToA.ConnectedSince.IsZero())
	aToB := peerInfo(t, a, b.ID())
	assert.Equal(t, "inbound", aToB.Direction)

	cToA := peerInfo(t, c, a.ID())
	assert.Equal(t, "outbound", cToA.Direction)
	assert.True(t, hasProtocol(cToA.Addr, ma.P_QUIC_V1), cToA.Addr.String())

	assert.ElementsMatch(t, []peer.ID{a.ID(), b.ID()}, c.PeerIDs())
	assert.Equal(t, network.Connected, a.Host().Network().Connectedness(c.ID()))
}

// staticDiscoverer finds a fixed list of peers and remembers the namespace
// it was asked about.
type staticDiscoverer struct {
	peers []peer.AddrInfo
	ns    chan string
}

func (d staticDiscoverer) FindPeers(_ context.Context, ns string, _ ...discovery.Option) (<-chan peer.AddrInfo, error) {
	d.ns <- ns
	ch := make(chan peer.AddrInfo, len(d.peers))
	for _, p := range d.peers {
		ch <- p
	}
	close(ch)
	return ch, nil
}

// In a network this small the DHT's own lookups connect everyone before a
// search for the namespace runs, so the search's connecting step is tested
// here with the DHT out of the way.
func TestFindAndConnectDialsAdmittedPeers(t *testing.T) {
	xKey, xID := newIdentity(t)
	cfg := loopbackConfig()
	cfg.BlockedPeers = []string{xID.String()}
	rec := newRecorder(t)
	n := startClient(t, cfg, nil, slog.New(rec))
	b := startClient(t, loopbackConfig(), nil, nil)
	x := startClient(t, loopbackConfig(), xKey, nil)

	d := staticDiscoverer{peers: []peer.AddrInfo{addrInfo(n), addrInfo(x), addrInfo(b)}, ns: make(chan string, 1)}
	n.findAndConnect(context.Background(), n.Host(), d)

	assert.Equal(t, ChainDiscovery(testChainID).Namespace, <-d.ns)
	assert.True(t, connected(n, b))
	assert.False(t, connected(n, x), "a blocked peer is not dialled")
	assert.Equal(t, 1, rec.count(slog.LevelInfo, "connected to discovered peer"), rec.dump())
}

// Discovery dials only as many peers as the node lacks of its target, and
// does not even look peers up once it has them: a node's discovery cost
// does not grow with the network.
func TestFindAndConnectStopsAtTheTarget(t *testing.T) {
	cfg := loopbackConfig()
	cfg.MaxPeers = 8 // target 8
	n := startClient(t, cfg, nil, nil)
	var others []*Client
	var found []peer.AddrInfo
	for i := 0; i < 10; i++ {
		o := startClient(t, loopbackConfig(), nil, nil)
		others = append(others, o)
		found = append(found, addrInfo(o))
	}
	d := staticDiscoverer{peers: found, ns: make(chan string, 1)}
	n.findAndConnect(context.Background(), n.Host(), d)
	require.Equal(t, ChainDiscovery(testChainID).Namespace, <-d.ns)
	dialled := 0
	for _, o := range others {
		if connected(n, o) {
			dialled++
		}
	}
	require.Equal(t, DiscoveryTarget(8), dialled, "dials up to the target, not every peer found")

	// At the target: no lookup at all.
	n.findAndConnect(context.Background(), n.Host(), d)
	select {
	case ns := <-d.ns:
		t.Fatalf("looked up %s with %d connections", ns, len(n.Host().Network().Peers()))
	default:
	}
}

// A bound below what a gossip mesh needs is refused.
func TestMaxPeersTooLow(t *testing.T) {
	key, _ := newIdentity(t)
	cfg := loopbackConfig()
	parsed, err := parseConfig(cfg)
	require.NoError(t, err)
	parsed.MaxPeers = 4
	_, err = New(parsed, key, testChainID, newTestDatastore(), testLogger(t))
	require.ErrorContains(t, err, "max peers 4; expected at least 8")
}

// Another implementation's DHT and rendezvous key (rollkit's: the public
// DHT's protocol prefix, whose buckets kad-dht holds to 20) are taken as
// given; a discovery without them is refused.
func TestWithDiscovery(t *testing.T) {
	key, _ := newIdentity(t)
	parsed, err := parseConfig(loopbackConfig())
	require.NoError(t, err)
	c, err := New(parsed, key, testChainID, newTestDatastore(), testLogger(t),
		WithDiscovery(Discovery{ProtocolPrefix: "/ipfs", Namespace: testChainID}))
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, stopWithin(t, c)) })
	require.Contains(t, c.Host().Mux().Protocols(), protocol.ID("/ipfs/kad/1.0.0"))
	require.NotContains(t, c.Host().Mux().Protocols(), protocol.ID("/headersync/"+testChainID+"/kad/1.0.0"))
	require.Equal(t, testChainID, c.discovery.Namespace)

	_, err = New(parsed, key, testChainID, nil, nil, WithDiscovery(Discovery{Namespace: "x"}))
	require.ErrorContains(t, err, "a protocol prefix and a namespace are needed")
}
