package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	gosync "github.com/celestiaorg/go-header/sync"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/api"
	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/internal/testlog"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
)

// fakeBackend serves a fixed chain. The err fields, when set, replace the
// normal answer of their method.
type fakeBackend struct {
	status  api.Status
	blocks  []*types.Block
	headErr error
	hdrErr  error
	blkErr  error
	txErr   error

	mu  sync.Mutex
	txs [][]byte
}

var _ api.Backend = (*fakeBackend)(nil)

// newFakeBackend returns a backend holding blocks 1..n, each with one tx.
func newFakeBackend(t *testing.T, n int) *fakeBackend {
	t.Helper()
	gen, err := chaingen.New("test-chain", n, chaingen.Options{})
	require.NoError(t, err)
	blocks, err := gen.Blocks(n)
	require.NoError(t, err)
	head := blocks[len(blocks)-1]
	start := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	return &fakeBackend{
		blocks: blocks,
		status: api.Status{
			Role:        "full",
			ChainID:     "test-chain",
			PeerID:      "12D3KooWtest",
			ListenAddrs: []string{"/ip4/127.0.0.1/tcp/4001"},
			Peers: []api.PeerStatus{{
				ID: "12D3KooWpeer", Direction: "outbound", Addr: "/ip4/127.0.0.1/tcp/4002", ConnectedSince: start,
			}},
			Headers: &p2psync.State{
				Kind: p2psync.Headers, Initialised: true, Base: 1, Height: head.Height(), HeadHash: types.HexBytes(head.Hash()),
				Syncer: &gosync.State{
					ID: 1, Height: head.Height(), FromHeight: 1, ToHeight: head.Height(),
					FromHash: blocks[0].Hash(), ToHash: head.Hash(), Start: start, End: start.Add(time.Second),
				},
				ExchangePeers: 1,
				Gossip:        p2psync.GossipCounts{Accepted: 3, Ignored: 2, Rejected: 1},
			},
			Blocks: &p2psync.State{
				Kind: p2psync.Blocks, WaitingFor: "first block", InitError: "no peers",
			},
			CrossCheck: &api.CrossCheckStatus{CheckedHeight: 2, Mismatches: 1, LastMismatchAt: 2},
			Version:    "v0.0.0-test",
		},
	}
}

func (f *fakeBackend) Status(context.Context) api.Status { return f.status }

func (f *fakeBackend) HeadView(context.Context) (api.HeaderJSON, error) {
	if f.headErr != nil {
		return api.HeaderJSON{}, f.headErr
	}
	return api.NewHeaderJSON(f.blocks[len(f.blocks)-1].SignedHeader()), nil
}

func (f *fakeBackend) HeaderView(ctx context.Context, height uint64) (api.HeaderJSON, error) {
	if f.hdrErr != nil {
		return api.HeaderJSON{}, f.hdrErr
	}
	b, err := f.block(height)
	if err != nil {
		return api.HeaderJSON{}, err
	}
	return api.NewHeaderJSON(b.SignedHeader()), nil
}

func (f *fakeBackend) HeaderViewByHash(_ context.Context, hash header.Hash) (api.HeaderJSON, error) {
	if f.hdrErr != nil {
		return api.HeaderJSON{}, f.hdrErr
	}
	for _, b := range f.blocks {
		if bytes.Equal(b.Hash(), hash) {
			return api.NewHeaderJSON(b.SignedHeader()), nil
		}
	}
	return api.HeaderJSON{}, fmt.Errorf("hash %s: %w", hash, header.ErrNotFound)
}

func (f *fakeBackend) BlockView(_ context.Context, height uint64) (api.BlockJSON, error) {
	if f.blkErr != nil {
		return api.BlockJSON{}, f.blkErr
	}
	b, err := f.block(height)
	if err != nil {
		return api.BlockJSON{}, err
	}
	return api.NewBlockJSON(b.SignedHeader(), b.Data()), nil
}

func (f *fakeBackend) block(height uint64) (*types.Block, error) {
	for _, b := range f.blocks {
		if b.Height() == height {
			return b, nil
		}
	}
	return nil, fmt.Errorf("height %d: %w", height, header.ErrNotFound)
}

func (f *fakeBackend) SubmitTx(_ context.Context, tx []byte) (int, error) {
	if f.txErr != nil {
		return 0, f.txErr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.txs = append(f.txs, tx)
	return len(f.txs), nil
}

func (f *fakeBackend) submitted() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.txs
}

// startServer runs a Server for b on a free loopback port until the test
// ends and returns its base URL.
func startServer(t *testing.T, b api.Backend, metrics prometheus.Gatherer) (*api.Server, string) {
	t.Helper()
	srv, err := api.New("127.0.0.1:0", b, metrics, testlog.New(t, slog.LevelDebug))
	require.NoError(t, err)
	require.NoError(t, srv.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, srv.Stop(context.Background())) })
	return srv, "http://" + srv.Addr()
}

// newClient returns an api.Client for base that drops its connections when
// the test ends.
func newClient(t *testing.T, base string) *api.Client {
	t.Helper()
	c, err := api.NewClient(base)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// reply is a raw HTTP reply.
type reply struct {
	code   int
	header http.Header
	body   []byte
}

// do sends a plain HTTP request on a fresh connection (closed after the
// reply, so none outlives the test).
func do(t *testing.T, method, url string, body io.Reader) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, body)
	require.NoError(t, err)
	return doRequest(t, req)
}

// doRequest sends req as do does.
func doRequest(t *testing.T, req *http.Request) reply {
	t.Helper()
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{code: resp.StatusCode, header: resp.Header, body: data}
}

func get(t *testing.T, url string) reply {
	t.Helper()
	return do(t, http.MethodGet, url, nil)
}

// jsonObject decodes r's body as a JSON object, numbers kept as json.Number,
// after checking the content type.
func (r reply) jsonObject(t *testing.T) map[string]any {
	t.Helper()
	require.Equal(t, "application/json", r.header.Get("Content-Type"), "body: %s", r.body)
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m), "body: %s", r.body)
	return m
}

// requireError checks that r is a JSON error with status code whose message
// contains each of parts.
func (r reply) requireError(t *testing.T, code int, parts ...string) {
	t.Helper()
	require.Equal(t, code, r.code, "body: %s", r.body)
	m := r.jsonObject(t)
	msg, ok := m["error"].(string)
	require.True(t, ok, "no error message in %s", r.body)
	require.NotEmpty(t, msg)
	for _, p := range parts {
		require.Contains(t, msg, p)
	}
}
