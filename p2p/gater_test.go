package p2p

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPeerPermitted(t *testing.T) {
	const a, b = peer.ID("peer-a"), peer.ID("peer-b")
	ids := func(ps ...peer.ID) []peer.ID { return ps }
	tests := []struct {
		name             string
		blocked, allowed []peer.ID
		peer             peer.ID
		banned           bool
		want             bool
	}{
		{name: "no rules", peer: a, want: true},
		{name: "blocked", blocked: ids(a), peer: a, want: false},
		{name: "other peer blocked", blocked: ids(b), peer: a, want: true},
		{name: "allowed", allowed: ids(a), peer: a, want: true},
		{name: "not in allow-list", allowed: ids(a), peer: b, want: false},
		{name: "not in allow-list, not blocked either", allowed: ids(a), blocked: ids(a), peer: b, want: false},
		{name: "blocked and allowed", blocked: ids(a), allowed: ids(a), peer: a, want: true},
		{name: "banned", peer: a, banned: true, want: false},
		{name: "banned though allowed", allowed: ids(a), peer: a, banned: true, want: false},
		{name: "banned though blocked and allowed", blocked: ids(a), allowed: ids(a), peer: a, banned: true, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := peerPermitted(tt.peer, newPeerRules(tt.blocked, tt.allowed), tt.banned)
			assert.Equal(t, tt.want, got)
		})
	}
}

// requireRefused checks that from cannot connect to to, and that to never
// accepted a connection from from.
func requireRefused(t *testing.T, from, to *Client) {
	t.Helper()
	accepted := countInbound(to.Host(), from.ID())
	_ = from.Host().Connect(context.Background(), addrInfo(to)) // may succeed on from's side before to refuses
	require.Eventually(t, func() bool { return !connected(from, to) && !connected(to, from) }, eventually, tick)
	require.Zero(t, accepted.Load(), "%s accepted a connection from %s", to.ID(), from.ID())
}

// requireDialRefused checks that from's own gater refuses to dial to.
func requireDialRefused(t *testing.T, from, to *Client) {
	t.Helper()
	err := from.Host().Connect(context.Background(), addrInfo(to))
	require.ErrorIs(t, err, swarm.ErrGaterDisallowedConnection)
	require.False(t, connected(from, to))
}

func requireConnects(t *testing.T, from, to *Client) {
	t.Helper()
	require.NoError(t, from.Host().Connect(context.Background(), addrInfo(to)))
	require.Eventually(t, func() bool { return connected(from, to) && connected(to, from) }, eventually, tick)
}

func TestBlockedPeerNeitherDialsInNorIsDialled(t *testing.T) {
	bKey, bID := newIdentity(t)
	cfg := loopbackConfig()
	cfg.BlockedPeers = []string{bID.String()}
	a := startClient(t, cfg, nil, nil)
	b := startClient(t, loopbackConfig(), bKey, nil)

	requireRefused(t, b, a)
	requireDialRefused(t, a, b)

	// Another peer is not affected.
	c := startClient(t, loopbackConfig(), nil, nil)
	requireConnects(t, c, a)
}

func TestAllowListRestrictsBothDirections(t *testing.T) {
	aKey, aID := newIdentity(t)
	cfg := loopbackConfig()
	cfg.AllowedPeers = []string{aID.String()}
	// Two gated nodes, so that each direction is tested on a fresh pair:
	// once connected, the DHT keeps peers connected.
	in := startClient(t, cfg, nil, nil)
	out := startClient(t, cfg, nil, nil)
	a := startClient(t, loopbackConfig(), aKey, nil)
	b := startClient(t, loopbackConfig(), nil, nil)

	requireRefused(t, b, in)
	requireDialRefused(t, out, b)

	requireConnects(t, a, in)
	requireConnects(t, out, a)
}

func TestBlockedAndAllowedPeerConnects(t *testing.T) {
	aKey, aID := newIdentity(t)
	cfg := loopbackConfig()
	// As a multiaddr, to check that both spellings of a peer work.
	cfg.BlockedPeers = []string{"/ip4/127.0.0.1/tcp/1/p2p/" + aID.String()}
	cfg.AllowedPeers = []string{aID.String()}
	in := startClient(t, cfg, nil, nil)
	out := startClient(t, cfg, nil, nil)
	a := startClient(t, loopbackConfig(), aKey, nil)

	requireConnects(t, a, in)
	requireConnects(t, out, a)
}

func TestRuntimeBanOverridesAllowList(t *testing.T) {
	aKey, aID := newIdentity(t)
	cfg := loopbackConfig()
	cfg.AllowedPeers = []string{aID.String()}
	n := startClient(t, cfg, nil, nil)
	a := startClient(t, loopbackConfig(), aKey, nil)

	require.NoError(t, n.ConnectionGater().BlockPeer(aID))
	requireRefused(t, a, n)
	requireDialRefused(t, n, a)

	require.NoError(t, n.ConnectionGater().UnblockPeer(aID))
	requireConnects(t, n, a)
}

// A flood of bans, each under a fresh identity, keeps only the newest: the
// oldest are lifted, in the gater too.
func TestBanFloodStaysBounded(t *testing.T) {
	const limit, flood = 8, 100
	key, _ := newIdentity(t)
	c, err := newClient(loopbackConfig(), key, testChainID, nil, nil, WithBanLimits(limit, time.Hour))
	require.NoError(t, err)
	ids := make([]peer.ID, flood)
	for i := range ids {
		ids[i] = peer.ID(fmt.Sprintf("flood-%03d", i))
		c.Ban(ids[i], "test flood")
	}
	require.Equal(t, limit, c.bans.len())
	assert.Len(t, c.ConnectionGater().ListBlockedPeers(), limit, "the gater holds only the bans kept")
	assert.True(t, c.gater.permits(ids[0]), "the oldest ban was lifted")
	assert.False(t, c.gater.permits(ids[flood-1]))
}

// Peers go-header blocks through the gater directly are bounded as well,
// once a sweep has seen them.
func TestDirectBlocksAreBounded(t *testing.T) {
	const limit = 4
	key, _ := newIdentity(t)
	c, err := newClient(loopbackConfig(), key, testChainID, nil, nil, WithBanLimits(limit, time.Hour))
	require.NoError(t, err)
	for i := range 3 * limit {
		require.NoError(t, c.ConnectionGater().BlockPeer(peer.ID(fmt.Sprintf("direct-%02d", i))))
	}
	c.bans.sweep()
	require.Equal(t, limit, c.bans.len())
	require.Len(t, c.ConnectionGater().ListBlockedPeers(), limit)
}

// A ban ends by itself: the peer is refused while it lasts and connects
// again once it has expired.
func TestExpiredBanLetsPeerConnect(t *testing.T) {
	const ttl = time.Second
	aKey, aID := newIdentity(t)
	key, _ := newIdentity(t)
	n, err := newClient(loopbackConfig(), key, testChainID, nil, testLogger(t), WithBanLimits(0, ttl))
	require.NoError(t, err)
	require.NoError(t, n.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, stopWithin(t, n)) })
	a := startClient(t, loopbackConfig(), aKey, nil)
	requireConnects(t, n, a)

	banned := time.Now()
	n.Ban(aID, "test")
	require.False(t, connected(n, a), "a ban closes the peer's connections")
	if time.Since(banned) < ttl { // else this machine is too slow to see the ban at all
		requireDialRefused(t, n, a)
	}

	require.Eventually(t, func() bool { return n.gater.permits(aID) }, eventually, tick, "the ban was never lifted")
	require.GreaterOrEqual(t, time.Since(banned), ttl, "lifted early")
	require.Zero(t, n.bans.len())
	requireConnects(t, n, a)
	requireConnects(t, a, n)
}
