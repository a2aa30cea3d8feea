package node_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/internal/testlog"
	"github.com/headersync/headersync/node"
	"github.com/headersync/headersync/p2p"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
)

func newIdentity(t *testing.T) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	require.NoError(t, err)
	return k
}

func loopbackP2P(seeds ...string) config.P2PConfig {
	return config.P2PConfig{ListenAddress: []string{"/ip4/127.0.0.1/tcp/0"}, Seeds: seeds}
}

// A sequencer that signs one block at a height and a different header at the
// same height is caught by the full node's cross-check, counted and shown.
func TestCrossCheckCatchesEquivocation(t *testing.T) {
	logger := testlog.New(t, slog.LevelInfo)
	ctx := context.Background()
	gen, err := chaingen.New("gm", 10, chaingen.Options{})
	require.NoError(t, err)

	// The equivocating sequencer runs bare sync services.
	client, err := p2p.New(p2p.Config{Listen: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/0")}}, newIdentity(t), "gm", nil, logger)
	require.NoError(t, err)
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() { require.NoError(t, client.Stop(ctx)) })
	ds := node.MemStore(t)
	svcCfg := func(k p2psync.Kind) p2psync.Config {
		return p2psync.Config{Kind: k, Genesis: gen.Genesis, Sequencer: true, BlockTime: blockTime, Logger: logger}
	}
	headers, err := p2psync.NewSequencer[*types.SignedHeader](svcCfg(p2psync.Headers), client, ds)
	require.NoError(t, err)
	require.NoError(t, headers.Start(ctx))
	t.Cleanup(func() { require.NoError(t, headers.Stop(ctx)) })
	blocks, err := p2psync.NewSequencer[*types.Block](svcCfg(p2psync.Blocks), client, ds)
	require.NoError(t, err)
	require.NoError(t, blocks.Start(ctx))
	t.Cleanup(func() { require.NoError(t, blocks.Stop(ctx)) })

	bs, err := gen.Blocks(5)
	require.NoError(t, err)
	for _, b := range bs {
		require.NoError(t, blocks.Publish(ctx, b))
		require.NoError(t, headers.Publish(ctx, b.SignedHeader()))
	}
	// Height 6: one block, and another header for the same height.
	prev := bs[4].SignedHeader()
	data := types.Data{Txs: [][]byte{[]byte("pay alice")}}
	blockHeader, err := gen.Signer.SignNext(prev, prev.Time().Add(time.Millisecond), &data)
	require.NoError(t, err)
	otherData := types.Data{Txs: [][]byte{[]byte("pay bob")}}
	otherHeader, err := gen.Signer.SignNext(prev, prev.Time().Add(time.Millisecond), &otherData)
	require.NoError(t, err)
	require.NoError(t, blocks.Publish(ctx, types.NewBlock(blockHeader, data)))
	require.NoError(t, headers.Publish(ctx, otherHeader))

	cfg := config.Default(config.RoleFull, "gm")
	cfg.BlockTime = config.Duration(blockTime)
	cfg.P2P = loopbackP2P(client.Addrs()[0].String())
	cfg.API.Listen = "127.0.0.1:0"
	full, err := node.New(node.Options{Config: cfg, Genesis: gen.Genesis, Identity: newIdentity(t), Datastore: node.MemStore(t), Logger: logger})
	require.NoError(t, err)
	require.NoError(t, full.Start(ctx))
	t.Cleanup(func() { require.NoError(t, full.Stop(ctx)) })

	require.Eventually(t, func() bool { return full.Status(ctx).CrossCheck.Mismatches == 1 }, waitFor, tick)
	st := full.Status(ctx).CrossCheck
	require.Equal(t, uint64(6), st.LastMismatchAt)
	require.Equal(t, uint64(6), st.CheckedHeight)
}
