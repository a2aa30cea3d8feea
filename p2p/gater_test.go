package p2p

import (
	"context"
	"testing"

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
