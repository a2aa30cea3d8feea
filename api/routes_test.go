package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/api"
	"github.com/headersync/headersync/types"
)

func TestGetStatus(t *testing.T) {
	b := newFakeBackend(t, 3)
	_, base := startServer(t, b, nil)

	m := get(t, base+"/status").jsonObject(t)
	require.Equal(t, "full", m["role"])
	require.Equal(t, "test-chain", m["chain_id"])
	headers, ok := m["headers"].(map[string]any)
	require.True(t, ok, "headers: %v", m["headers"])
	require.Equal(t, json.Number("1"), headers["base"], "the lowest stored height, beside the height")
	require.Equal(t, json.Number("3"), headers["height"])
	require.Equal(t, hex.EncodeToString(b.blocks[2].Hash()), headers["head_hash"])
	require.Contains(t, m, "cross_check")
	require.NotContains(t, m, "sequencer", "absent sections are omitted")
}

// headerFields is every field of the header JSON.
var headerFields = []string{
	"height", "hash", "time", "chain_id", "version", "last_header_hash", "last_commit_hash",
	"data_hash", "consensus_hash", "app_hash", "last_results_hash", "validator_hash",
	"proposer_address", "signature", "signer",
}

// requireHeaderJSON checks that m is the JSON of sh, field by field.
func requireHeaderJSON(t *testing.T, sh *types.SignedHeader, m map[string]any) {
	t.Helper()
	for _, f := range headerFields {
		require.Contains(t, m, f)
	}
	require.Len(t, m, len(headerFields), "unexpected fields in %v", m)
	require.Equal(t, json.Number(fmt.Sprint(sh.Height())), m["height"], "height is a JSON number")
	require.Equal(t, hex.EncodeToString(sh.Hash()), m["hash"])
	require.Regexp(t, "^[0-9a-f]{64}$", m["hash"], "hash is lower-case hex")
	require.Equal(t, sh.ChainID(), m["chain_id"])
	require.Equal(t, hex.EncodeToString(sh.DataHash()), m["data_hash"])
	require.Equal(t, hex.EncodeToString(sh.LastHeader()), m["last_header_hash"])
	require.Equal(t, fmt.Sprintf("%x", sh.ProposerAddress()), m["proposer_address"])
	require.Equal(t, fmt.Sprintf("%x", sh.Signature()), m["signature"])
	require.Equal(t, fmt.Sprintf("%x", []byte(sh.Signer())), m["signer"])
	require.Equal(t, "", m["consensus_hash"], "empty hashes are empty strings")
	require.Equal(t, map[string]any{"block": json.Number("0"), "app": json.Number("0")}, m["version"])

	ts, ok := m["time"].(string)
	require.True(t, ok)
	require.True(t, strings.HasSuffix(ts, "Z"), "time %q is UTC", ts)
	parsed, err := time.Parse(time.RFC3339Nano, ts)
	require.NoError(t, err)
	require.True(t, parsed.Equal(sh.Time()), "time %s, want %s", parsed, sh.Time())
}

func TestGetHeader(t *testing.T) {
	b := newFakeBackend(t, 3)
	_, base := startServer(t, b, nil)
	first, second, head := b.blocks[0].SignedHeader(), b.blocks[1].SignedHeader(), b.blocks[2].SignedHeader()

	tests := []struct {
		name string
		path string
		want *types.SignedHeader
	}{
		{"head", "/headers/head", head},
		{"by height", "/headers/2", second},
		{"first, with empty link hashes", "/headers/1", first},
		{"by hash, uppercase", "/headers/hash/" + second.Hash().String(), second},
		{"by hash, lowercase", "/headers/hash/" + strings.ToLower(head.Hash().String()), head},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, base+tt.path)
			require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
			requireHeaderJSON(t, tt.want, r.jsonObject(t))
		})
	}
}

func TestGetBlock(t *testing.T) {
	b := newFakeBackend(t, 3)
	_, base := startServer(t, b, nil)

	r := get(t, base+"/blocks/2")
	require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
	m := r.jsonObject(t)
	require.Equal(t, json.Number("1"), m["num_txs"])
	hdr, ok := m["header"].(map[string]any)
	require.True(t, ok)
	requireHeaderJSON(t, b.blocks[1].SignedHeader(), hdr)
	txs, ok := m["txs"].([]any)
	require.True(t, ok)
	require.Len(t, txs, 1)
	tx, err := base64.StdEncoding.DecodeString(txs[0].(string))
	require.NoError(t, err)
	require.Equal(t, b.blocks[1].Data().Txs[0], tx)
}

func TestGetBlockWithoutTxs(t *testing.T) {
	b := newFakeBackend(t, 1)
	b.blocks[0] = types.NewBlock(b.blocks[0].SignedHeader(), types.Data{})
	_, base := startServer(t, b, nil)

	m := get(t, base+"/blocks/1").jsonObject(t)
	require.Equal(t, json.Number("0"), m["num_txs"])
	require.Equal(t, []any{}, m["txs"], "txs is [] rather than null")
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	events := prometheus.NewCounter(prometheus.CounterOpts{Name: "headersync_test_events_total", Help: "Test events."})
	reg.MustRegister(events)
	events.Add(3)
	_, base := startServer(t, newFakeBackend(t, 1), reg)

	r := get(t, base+"/metrics")
	require.Equal(t, http.StatusOK, r.code)
	require.Contains(t, r.header.Get("Content-Type"), "text/plain")
	require.Contains(t, string(r.body), "headersync_test_events_total 3")
}

func TestHealthz(t *testing.T) {
	b := newFakeBackend(t, 1)
	b.headErr = api.ErrNotReady // liveness does not depend on sync state
	_, base := startServer(t, b, nil)

	r := get(t, base+"/healthz")
	require.Equal(t, http.StatusOK, r.code)
	require.Equal(t, map[string]any{"status": "ok"}, r.jsonObject(t))
}

func TestBadRequest(t *testing.T) {
	_, base := startServer(t, newFakeBackend(t, 1), nil)
	for _, path := range []string{
		"/headers/abc",
		"/headers/0",
		"/headers/-1",
		"/headers/+1",
		"/headers/99999999999999999999", // over uint64
		"/headers/1.5",
		"/blocks/abc",
		"/blocks/0",
		"/blocks/-1",
		"/blocks/99999999999999999999",
		"/headers/hash/zz",
		"/headers/hash/ABCD", // too short
		"/headers/hash/" + strings.Repeat("A", 63),  // one short
		"/headers/hash/" + strings.Repeat("A", 65),  // one long
		"/headers/hash/" + strings.Repeat("G", 64),  // right length, not hex
		"/headers/hash/" + strings.Repeat("AB", 33), // whole bytes, too many
	} {
		t.Run(path, func(t *testing.T) {
			get(t, base+path).requireError(t, http.StatusBadRequest, api.ErrInvalidRef.Error())
		})
	}
}

func TestNotFound(t *testing.T) {
	b := newFakeBackend(t, 2)
	_, base := startServer(t, b, nil)
	light := newFakeBackend(t, 1)
	light.blkErr = api.ErrNoBlocks
	_, lightBase := startServer(t, light, nil)

	tests := []struct {
		name string
		url  string
		want string
	}{
		{"header above head", base + "/headers/3", header.ErrNotFound.Error()},
		{"header by unknown hash", base + "/headers/hash/" + strings.Repeat("ab", 32), header.ErrNotFound.Error()},
		{"block above head", base + "/blocks/9", header.ErrNotFound.Error()},
		{"block on light node", lightBase + "/blocks/1", api.ErrNoBlocks.Error()},
		{"unknown path", base + "/nope", "no route for GET /nope"},
		{"headers without ref", base + "/headers/", "no route"},
		{"hash without value", base + "/headers/hash/", "no route"},
		{"too deep", base + "/blocks/1/txs", "no route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			get(t, tt.url).requireError(t, http.StatusNotFound, tt.want)
		})
	}
}

func TestNotReady(t *testing.T) {
	b := newFakeBackend(t, 1)
	b.headErr = fmt.Errorf("header service: %w", api.ErrNotReady)
	_, base := startServer(t, b, nil)

	get(t, base+"/headers/head").requireError(t, http.StatusServiceUnavailable, api.ErrNotReady.Error())
}

func TestInternalError(t *testing.T) {
	b := newFakeBackend(t, 1)
	b.hdrErr = errors.New("disk on fire")
	_, base := startServer(t, b, nil)

	get(t, base+"/headers/1").requireError(t, http.StatusInternalServerError, "header 1", "disk on fire")
}

func TestMethodNotAllowed(t *testing.T) {
	_, base := startServer(t, newFakeBackend(t, 1), nil)
	tests := []struct {
		method, path, allow string
	}{
		{http.MethodDelete, "/status", "GET"},
		{http.MethodPost, "/headers/1", "GET"},
		{http.MethodGet, "/txs", "POST"},
		{http.MethodPut, "/metrics", "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := do(t, tt.method, base+tt.path, nil)
			r.requireError(t, http.StatusMethodNotAllowed, tt.method, tt.path)
			require.Contains(t, r.header.Get("Allow"), tt.allow)
		})
	}
}

func TestSubmitTx(t *testing.T) {
	b := newFakeBackend(t, 1)
	_, base := startServer(t, b, nil)

	for i, tx := range []string{"first", "second"} {
		r := do(t, http.MethodPost, base+"/txs", strings.NewReader(tx))
		require.Equal(t, http.StatusAccepted, r.code, "body: %s", r.body)
		require.Equal(t, map[string]any{"pending": json.Number(fmt.Sprint(i + 1))}, r.jsonObject(t))
	}
	require.Equal(t, [][]byte{[]byte("first"), []byte("second")}, b.submitted())
}

func TestSubmitTxErrors(t *testing.T) {
	tests := []struct {
		err  error
		code int
	}{
		{api.ErrEmptyTx, http.StatusBadRequest},
		{api.ErrTxTooLarge, http.StatusRequestEntityTooLarge},
		{api.ErrNotSequencer, http.StatusForbidden},
		{api.ErrQueueFull, http.StatusServiceUnavailable},
		{errors.New("mempool broken"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			b := newFakeBackend(t, 1)
			b.txErr = fmt.Errorf("queue: %w", tt.err)
			_, base := startServer(t, b, nil)
			do(t, http.MethodPost, base+"/txs", strings.NewReader("tx")).requireError(t, tt.code, tt.err.Error())
		})
	}
}

// hideLength hides a reader's length, so the request is sent chunked.
type hideLength struct{ io.Reader }

func TestSubmitTxOversized(t *testing.T) {
	b := newFakeBackend(t, 1)
	_, base := startServer(t, b, nil)
	big := bytes.Repeat([]byte{'x'}, 3*api.MaxTxBodySize)
	over := big[:api.MaxTxBodySize+1]

	tests := []struct {
		name   string
		body   io.Reader
		expect bool // send "Expect: 100-continue"
	}{
		{"declared length, one byte over", bytes.NewReader(over), false},
		{"declared length, twice the limit", bytes.NewReader(big[:2*api.MaxTxBodySize]), false},
		{"chunked, one byte over", hideLength{bytes.NewReader(over)}, false},
		{"declared length far over, expect continue", bytes.NewReader(big), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, base+"/txs", tt.body)
			require.NoError(t, err)
			if tt.expect {
				req.Header.Set("Expect", "100-continue")
			}
			doRequest(t, req).requireError(t, http.StatusRequestEntityTooLarge, api.ErrTxTooLarge.Error())
		})
	}
	t.Run("at the limit", func(t *testing.T) {
		r := do(t, http.MethodPost, base+"/txs", bytes.NewReader(big[:api.MaxTxBodySize]))
		require.Equal(t, http.StatusAccepted, r.code, "body: %s", r.body)
	})
	require.Len(t, b.submitted(), 1, "only the transaction within the limit reaches the backend")
}

// A read that hit a corrupt store is a 500 whose one line says where and
// what to do, as the backend put it; the server does not log it again per
// request (the store logs the damage once).
func TestStoreCorrupt(t *testing.T) {
	b := newFakeBackend(t, 1)
	corrupt := fmt.Errorf("%w at height 1: read /blockEx/AB: checksum mismatch; run headersync check", api.ErrStoreCorrupt)
	b.blkErr, b.hdrErr = corrupt, corrupt
	var logs bytes.Buffer
	srv, err := api.New("127.0.0.1:0", b, nil, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	require.NoError(t, err)
	require.NoError(t, srv.Start(context.Background()))
	base := "http://" + srv.Addr()

	for _, path := range []string{"/blocks/1", "/headers/1"} {
		r := get(t, base+path)
		r.requireError(t, http.StatusInternalServerError)
		require.Equal(t, corrupt.Error(), r.jsonObject(t)["error"], "the backend's line, not prefixed again")
	}
	require.NoError(t, srv.Stop(context.Background()))
	require.NotContains(t, logs.String(), "api request failed")
}
