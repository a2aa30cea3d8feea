package node_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/testlog"
	"github.com/headersync/headersync/internal/testnet"
)

// cut bans each pair of peers at both ends and drops their connections, as a
// network partition would; heal lifts the bans.
func cut(members [][2]*testnet.Member) {
	for _, pair := range members {
		for i, m := range pair {
			other := pair[1-i].Node.P2P().ID()
			_ = m.Node.P2P().ConnectionGater().BlockPeer(other)
			_ = m.Node.P2P().Host().Network().ClosePeer(other)
		}
	}
}

func heal(members [][2]*testnet.Member) {
	for _, pair := range members {
		for i, m := range pair {
			_ = m.Node.P2P().ConnectionGater().UnblockPeer(pair[1-i].Node.P2P().ID())
		}
	}
}

// A full node cut off from everyone misses 500 blocks; once the partition
// heals it catches up, and the light node that talks only to it follows.
func TestPartitionAndHeal(t *testing.T) {
	net, err := testnet.Start(context.Background(), testnet.Options{
		Dir: t.TempDir(), ChainID: "gm", Full: 1, Light: 1, BlockTime: 10 * time.Millisecond,
		Logger: testlog.New(t, slog.LevelWarn),
		// The light node is allowed to talk to the full node only.
		Configure: func(n *testnet.Network, m *testnet.Member, cfg *config.NodeConfig) {
			if m.Role == config.RoleLight {
				cfg.P2P.AllowedPeers = []string{n.Full()[0].Node.P2P().ID().String()}
			}
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, net.Stop(context.Background())) })
	seq, full, light := net.Sequencer(), net.Full()[0], net.Light()[0]
	waitHeight(t, net, 20)
	require.Equal(t, []peer.ID{full.Node.P2P().ID()}, light.Node.P2P().PeerIDs(), "the light node talks to the full node only")

	links := [][2]*testnet.Member{{full, seq}, {full, light}}
	cut(links)
	cutAt := seq.Node.Headers().Height()
	require.Eventually(t, func() bool { return seq.Node.Headers().Height() >= cutAt+500 }, waitFor, tick)
	// Cut off, neither follows: they may hold at most what was in flight.
	require.Less(t, full.Node.Headers().Height(), cutAt+10)
	require.Less(t, light.Node.Headers().Height(), cutAt+10)

	heal(links)
	healedAt, target := time.Now(), seq.Node.Headers().Height()
	require.Eventually(t, func() bool { return full.Node.Headers().Height() >= target }, waitFor, tick, "the full node never caught up")
	fullBack := time.Since(healedAt)
	// Reconnecting waits out the seeds' redial backoff, at most 10 s.
	require.Eventually(t, func() bool { return light.Node.Headers().Height() >= target }, waitFor, tick, "the light node never caught up")
	lightBack := time.Since(healedAt)
	require.Eventually(t, func() bool { return full.Node.Blocks().Height() >= target }, waitFor, tick, "the full node's blocks never caught up")
	t.Logf("partition of %d blocks: full node caught up %s after the heal, light node %s", target-cutAt, fullBack.Round(time.Millisecond), lightBack.Round(time.Millisecond))

	ctx := context.Background()
	want, err := seq.Node.HeaderByHeight(ctx, target)
	require.NoError(t, err)
	for _, m := range []*testnet.Member{full, light} {
		got, err := m.Node.HeaderByHeight(ctx, target)
		require.NoError(t, err)
		require.Equal(t, want.Hash(), got.Hash(), m.Name)
	}
}
