package node_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/testlog"
	"github.com/headersync/headersync/internal/testnet"
	"github.com/headersync/headersync/p2psync"
)

// A full node that starts at the head and keeps a window keeps headers and
// blocks to the one window as the chain grows, each the sequencer's, and
// its cross-check of blocks against headers finds nothing wrong and nothing
// unreadable: the heights below the window are not holes.
func TestFullNodeKeepsAWindow(t *testing.T) {
	const retain = 16 // pruned in batches of one
	ctx := context.Background()
	net, err := testnet.Start(ctx, testnet.Options{
		Dir: t.TempDir(), ChainID: "gm", Full: 2, BlockTime: blockTime, Logger: testlog.New(t, slog.LevelInfo),
		Configure: func(_ *testnet.Network, m *testnet.Member, cfg *config.NodeConfig) {
			if m.Name == "full-2" {
				cfg.SyncFrom, cfg.RetainHeaders = config.SyncFromHead, retain
			}
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, net.Stop(ctx)) })
	seq, windowed := net.Sequencer().Node, net.Full()[1].Node

	kept := func(base, head uint64) bool { return base > 1 && head-base+1 <= retain+1 }
	require.Eventually(t, func() bool {
		h, b := windowed.Headers(), windowed.Blocks()
		return h.Height() >= 3*retain && b.Height() >= 3*retain && kept(h.Base(), h.Height()) && kept(b.Base(), b.Height())
	}, waitFor, tick, "no window: headers %d..%d, blocks %d..%d",
		windowed.Headers().Base(), windowed.Headers().Height(), windowed.Blocks().Base(), windowed.Blocks().Height())

	base := max(windowed.Headers().Base(), windowed.Blocks().Base())
	head := min(windowed.Headers().Height(), windowed.Blocks().Height())
	for height := base; height <= head; height++ {
		want, err := seq.BlockByHeight(ctx, height)
		require.NoError(t, err)
		h, err := windowed.HeaderByHeight(ctx, height)
		require.NoError(t, err, "header %d", height)
		require.Equal(t, want.Hash(), h.Hash(), "header %d", height)
		b, err := windowed.BlockByHeight(ctx, height)
		require.NoError(t, err, "block %d", height)
		require.Equal(t, want.Hash(), b.Hash(), "block %d", height)
		require.Equal(t, want.Data(), b.Data(), "block %d", height)
	}
	_, err = windowed.HeaderByHeight(ctx, 1)
	var pruned *p2psync.PrunedError
	require.ErrorAs(t, err, &pruned)

	require.Eventually(t, func() bool {
		cc := windowed.Status(ctx).CrossCheck
		return cc != nil && cc.CheckedHeight >= base
	}, waitFor, tick, "the cross-check never reached the window")
	cc := windowed.Status(ctx).CrossCheck
	require.Zero(t, cc.Mismatches, "%+v", cc)
	require.Zero(t, cc.Unreadable, "%+v", cc)
}
