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
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/store/headerstore"
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

// pruneBelow deletes, in the data dir dir, the headers below headersBase
// and the blocks below blocksBase, as a full node keeping a window does.
func pruneBelow(t *testing.T, dir string, headersBase, blocksBase uint64) {
	t.Helper()
	ctx := context.Background()
	ds, err := store.Open(dir)
	require.NoError(t, err)
	defer func() { require.NoError(t, ds.Close()) }()
	headers, err := headerstore.New[*types.SignedHeader](ds.Pebble(), p2psync.Headers.StorePrefix())
	require.NoError(t, err)
	require.NoError(t, headers.DeleteBelow(ctx, headersBase))
	blocks, err := headerstore.New[*types.Block](ds.Pebble(), p2psync.Blocks.StorePrefix())
	require.NoError(t, err)
	require.NoError(t, blocks.DeleteBelow(ctx, blocksBase))
}

// A full node whose stores keep a window starts (the start-time check reads
// the base headers, not the genesis one) and cross-checks from the higher
// of its two bases to the head: the heights below are neither missing nor
// unreadable, and the check does not wait for them, even when it was told
// to begin at a trusted header that has since been pruned.
func TestCrossCheckStartsAtTheBase(t *testing.T) {
	const n = 40
	cases := []struct {
		name                   string
		headersBase, blockBase uint64
		trust                  uint64 // the height of the configured trusted header, if not 0
	}{
		{"same base", 11, 11, 0},
		{"blocks pruned further", 11, 17, 0},
		{"headers pruned further", 23, 17, 0},
		{"trusted header pruned", 11, 11, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gen, err := chaingen.New("gm", n, chaingen.Options{})
			require.NoError(t, err)
			dir := t.TempDir()
			importInto(t, dir, gen, n)
			pruneBelow(t, dir, tc.headersBase, tc.blockBase)
			var trusted string
			if tc.trust != 0 {
				// The same chain again: the same key, times and blocks.
				twin, err := chaingen.New("gm", n, chaingen.Options{Key: gen.Signer.PrivateKey(), Start: gen.Genesis.GenesisTime})
				require.NoError(t, err)
				bs, err := twin.Blocks(int(tc.trust))
				require.NoError(t, err)
				trusted = bs[tc.trust-1].Hash().String()
			}

			nd := newNodeOn(t, config.RoleFull, gen.Genesis, dir, func(cfg *config.NodeConfig) { cfg.TrustedHash = trusted })
			require.NoError(t, nd.Start(context.Background()))
			t.Cleanup(func() { require.NoError(t, nd.Stop(context.Background())) })

			require.Eventually(t, func() bool { return nd.Status(context.Background()).CrossCheck.CheckedHeight == n }, waitFor, tick,
				"cross-check stuck at %d", nd.Status(context.Background()).CrossCheck.CheckedHeight)
			st := nd.Status(context.Background())
			require.Zero(t, st.CrossCheck.Mismatches)
			require.Zero(t, st.CrossCheck.Unreadable, "pruned heights are not unreadable")
			require.Equal(t, tc.headersBase, st.Headers.Base)
			require.Equal(t, tc.blockBase, st.Blocks.Base)
		})
	}
}
