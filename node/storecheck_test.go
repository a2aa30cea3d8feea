package node_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/internal/testlog"
	"github.com/headersync/headersync/node"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/types"
)

// importInto writes the chain gen builds, n blocks and their headers, into
// a pebble data dir, as a full node that synced it would hold it.
func importInto(t *testing.T, dir string, gen *chaingen.Generator, n int) {
	t.Helper()
	ctx := context.Background()
	bs, err := gen.Blocks(n)
	require.NoError(t, err)
	hs := make([]*types.SignedHeader, n)
	for i, b := range bs {
		hs[i] = b.SignedHeader()
	}
	ds, err := store.Open(dir)
	require.NoError(t, err)
	blocks, err := p2psync.NewImporter[*types.Block](ctx, ds, p2psync.Blocks)
	require.NoError(t, err)
	require.NoError(t, blocks.Append(ctx, bs...))
	require.NoError(t, blocks.Close(ctx))
	headers, err := p2psync.NewImporter[*types.SignedHeader](ctx, ds, p2psync.Headers)
	require.NoError(t, err)
	require.NoError(t, headers.Append(ctx, hs...))
	require.NoError(t, headers.Close(ctx))
	require.NoError(t, ds.Close())
}

// A node whose genesis names another sequencer key, or another chain, than
// the chain in its data dir refuses to start, in one line naming what it
// found and what the genesis expects; it served the old chain before.
func TestStartRefusesStoreOfAnotherGenesis(t *testing.T) {
	gen, err := chaingen.New("gm", 30, chaingen.Options{})
	require.NoError(t, err)
	dir := t.TempDir()
	importInto(t, dir, gen, 30)
	newKey, err := types.GenerateSigner()
	require.NoError(t, err)
	stored := []byte(gen.Signer.PublicKey())

	cases := []struct {
		name    string
		genesis types.Genesis
		wantErr error
		want    string
	}{
		{"another sequencer key", types.Genesis{ChainID: "gm", SequencerPubKey: newKey.PublicKey()}, p2psync.ErrNotSequencerKey,
			fmt.Sprintf("stored header 30 (head): not signed by the genesis sequencer key: signed by key %x, expected %x", stored, []byte(newKey.PublicKey()))},
		{"another chain", types.Genesis{ChainID: "other", SequencerPubKey: gen.Signer.PublicKey()}, p2psync.ErrWrongChain,
			`stored header 30 (head): header of another chain: chain "gm", expected "other"`},
	}
	for _, tc := range cases {
		for _, role := range []config.Role{config.RoleFull, config.RoleLight} {
			t.Run(tc.name+"/"+string(role), func(t *testing.T) {
				g := tc.genesis
				g.InitialHeight, g.GenesisTime = 1, gen.Genesis.GenesisTime
				n := newNodeOn(t, role, &g, dir)
				err := n.Start(context.Background())
				require.ErrorIs(t, err, node.ErrStoreNotOfGenesis)
				require.ErrorIs(t, err, tc.wantErr)
				require.ErrorContains(t, err, tc.want)
				require.NotContains(t, err.Error(), "\n")
				require.NoError(t, n.Stop(context.Background()), "a failed start leaves nothing running")
			})
		}
	}

	// The genesis the data was synced for starts.
	n := newNodeOn(t, config.RoleFull, gen.Genesis, dir)
	require.NoError(t, n.Start(context.Background()))
	require.NoError(t, n.Stop(context.Background()))
}

// newNodeOn builds, without starting, a node of role on the data dir dir;
// each of configure adjusts its configuration.
func newNodeOn(t *testing.T, role config.Role, g *types.Genesis, dir string, configure ...func(*config.NodeConfig)) *node.Node {
	t.Helper()
	cfg := config.Default(role, g.ChainID)
	cfg.BlockTime = config.Duration(time.Second)
	cfg.P2P = loopbackP2P()
	cfg.API.Listen = "127.0.0.1:0"
	for _, f := range configure {
		f(&cfg)
	}
	n, err := node.New(node.Options{
		Config: cfg, Genesis: g, Identity: newIdentity(t), DataDir: dir,
		Logger: testlog.New(t, slog.LevelInfo),
	})
	require.NoError(t, err)
	return n
}
