package api_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/api"
	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/internal/testlog"
	"github.com/headersync/headersync/node"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/store/headerstore"
	"github.com/headersync/headersync/types"
)

// windowedFullNode starts a full node, without peers, on a data dir that
// holds blocks and headers base..n of an n-block chain: the chain was
// imported from height 1, then everything below base deleted, as a node
// keeping a window does. It returns the node's API base URL and the blocks.
func windowedFullNode(t *testing.T, n int, base uint64) (string, []*types.Block) {
	t.Helper()
	ctx := context.Background()
	gen, err := chaingen.New("gm", n, chaingen.Options{})
	require.NoError(t, err)
	bs, err := gen.Blocks(n)
	require.NoError(t, err)
	hs := make([]*types.SignedHeader, n)
	for i, b := range bs {
		hs[i] = b.SignedHeader()
	}

	dir := t.TempDir()
	ds, err := store.Open(dir)
	require.NoError(t, err)
	blocks, err := p2psync.NewImporter[*types.Block](ctx, ds, p2psync.Blocks)
	require.NoError(t, err)
	require.NoError(t, blocks.Append(ctx, bs...))
	headers, err := p2psync.NewImporter[*types.SignedHeader](ctx, ds, p2psync.Headers)
	require.NoError(t, err)
	require.NoError(t, headers.Append(ctx, hs...))
	hst, err := headerstore.New[*types.SignedHeader](ds.Pebble(), p2psync.Headers.StorePrefix())
	require.NoError(t, err)
	require.NoError(t, hst.DeleteBelow(ctx, base))
	bst, err := headerstore.New[*types.Block](ds.Pebble(), p2psync.Blocks.StorePrefix())
	require.NoError(t, err)
	require.NoError(t, bst.DeleteBelow(ctx, base))
	require.Equal(t, base, hst.Base())
	require.Equal(t, base, bst.Base())
	require.NoError(t, ds.Close())

	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	require.NoError(t, err)
	cfg := config.Default(config.RoleFull, "gm")
	cfg.BlockTime = config.Duration(time.Second)
	cfg.P2P = config.P2PConfig{ListenAddress: []string{"/ip4/127.0.0.1/tcp/0"}}
	cfg.API.Listen = "127.0.0.1:0"
	nd, err := node.New(node.Options{
		Config: cfg, Genesis: gen.Genesis, Identity: key, DataDir: dir,
		Logger: testlog.New(t, slog.LevelInfo),
	})
	require.NoError(t, err)
	require.NoError(t, nd.Start(ctx))
	t.Cleanup(func() { require.NoError(t, nd.Stop(context.Background())) })
	return "http://" + nd.APIAddr(), bs
}

// A node that keeps heights 11..30 answers a header or block below 11 with
// a 404 that says so, serves 11..30, and answers above 30 as before; its
// status shows each service's base beside its height.
func TestPrunedHeightsAreNotFoundAndSaySo(t *testing.T) {
	const n, base = 30, 11
	url, bs := windowedFullNode(t, n, base)
	keeps := fmt.Sprintf("pruned: this node keeps heights %d..%d", base, n)

	tests := []struct {
		name string
		path string
		want string // the whole error message
	}{
		{"header at the first height", "/headers/1", "header 1 " + keeps},
		{"header just below the base", fmt.Sprintf("/headers/%d", base-1), fmt.Sprintf("header %d %s", base-1, keeps)},
		{"block at the first height", "/blocks/1", "block 1 " + keeps},
		{"block just below the base", fmt.Sprintf("/blocks/%d", base-1), fmt.Sprintf("block %d %s", base-1, keeps)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, url+tt.path)
			r.requireError(t, http.StatusNotFound)
			require.Equal(t, map[string]any{"error": tt.want}, r.jsonObject(t), "the API's error shape, one field")
		})
	}

	t.Run("the window is served", func(t *testing.T) {
		for _, path := range []string{fmt.Sprintf("/headers/%d", base), fmt.Sprintf("/blocks/%d", base), fmt.Sprintf("/headers/%d", n), "/headers/head"} {
			r := get(t, url+path)
			require.Equal(t, http.StatusOK, r.code, "%s: %s", path, r.body)
		}
	})

	t.Run("above the head, as before", func(t *testing.T) {
		for _, path := range []string{fmt.Sprintf("/headers/%d", n+1), fmt.Sprintf("/blocks/%d", n+1)} {
			r := get(t, url+path)
			r.requireError(t, http.StatusNotFound, "not found")
			require.NotContains(t, string(r.body), "pruned", path)
		}
	})

	t.Run("a pruned header by hash is not found", func(t *testing.T) {
		get(t, url+"/headers/hash/"+bs[0].Hash().String()).requireError(t, http.StatusNotFound, header.ErrNotFound.Error())
	})

	t.Run("client", func(t *testing.T) {
		c := newClient(t, url)
		_, err := c.Header(context.Background(), "5")
		var httpErr *api.HTTPError
		require.True(t, errors.As(err, &httpErr), "%v", err)
		require.Equal(t, http.StatusNotFound, httpErr.StatusCode)
		require.Equal(t, "header 5 "+keeps, httpErr.Message)
		_, err = c.Block(context.Background(), 5)
		require.ErrorContains(t, err, "404 Not Found: block 5 "+keeps)
	})

	t.Run("metrics", func(t *testing.T) {
		r := get(t, url+"/metrics")
		require.Equal(t, http.StatusOK, r.code)
		for _, service := range []string{"header", "block"} {
			require.Contains(t, string(r.body), fmt.Sprintf("headersync_store_base{service=%q} %d\n", service, base))
			require.Contains(t, string(r.body), fmt.Sprintf("headersync_store_height{service=%q} %d\n", service, n))
		}
	})

	t.Run("status", func(t *testing.T) {
		m := get(t, url+"/status").jsonObject(t)
		for _, service := range []string{"headers", "blocks"} {
			st, ok := m[service].(map[string]any)
			require.True(t, ok, "%s: %v", service, m[service])
			require.Equal(t, json.Number(fmt.Sprint(base)), st["base"], service)
			require.Equal(t, json.Number(fmt.Sprint(n)), st["height"], service)
		}
	})
}
