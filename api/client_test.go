package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/api"
)

func TestNewClientValidatesURL(t *testing.T) {
	for _, bad := range []string{"", "127.0.0.1:26657", "localhost:26657", "ftp://127.0.0.1:26657", "http://", "http://127.0.0.1:1?x=1", "http://127.0.0.1:1/#top", "://x"} {
		t.Run(bad, func(t *testing.T) {
			_, err := api.NewClient(bad)
			require.Error(t, err)
			require.Contains(t, err.Error(), fmt.Sprintf("%q", bad), "the error names the value")
		})
	}
	for _, good := range []string{"http://127.0.0.1:26657", "https://node.example/api/", "HTTP://127.0.0.1:1"} {
		_, err := api.NewClient(good)
		require.NoError(t, err, good)
	}
}

// requireSameJSON checks that got encodes exactly as want does: decoding
// lost nothing.
func requireSameJSON(t *testing.T, want, got any) {
	t.Helper()
	wantJSON, err := json.Marshal(want)
	require.NoError(t, err)
	gotJSON, err := json.Marshal(got)
	require.NoError(t, err)
	require.JSONEq(t, string(wantJSON), string(gotJSON))
}

func TestClientRoundTrip(t *testing.T) {
	b := newFakeBackend(t, 3)
	_, base := startServer(t, b, nil)
	c := newClient(t, base)
	ctx := context.Background()

	t.Run("status", func(t *testing.T) {
		st, err := c.Status(ctx)
		require.NoError(t, err)
		require.Equal(t, b.status, st, "Status, with its p2psync.State, round-trips")
	})
	t.Run("header", func(t *testing.T) {
		head := b.blocks[2].SignedHeader()
		for _, ref := range []string{"head", "HEAD", "3", head.Hash().String(), strings.ToLower(head.Hash().String())} {
			h, err := c.Header(ctx, ref)
			require.NoError(t, err, ref)
			require.Equal(t, uint64(3), h.Height)
			require.Equal(t, []byte(head.Hash()), []byte(h.Hash))
			require.Equal(t, []byte(head.Signer()), []byte(h.Signer))
			requireSameJSON(t, api.NewHeaderJSON(head), h)
		}
	})
	t.Run("block", func(t *testing.T) {
		blk, err := c.Block(ctx, 2)
		require.NoError(t, err)
		require.Equal(t, 1, blk.NumTxs)
		require.Equal(t, b.blocks[1].Data().Txs, blk.Txs)
		requireSameJSON(t, api.NewBlockJSON(b.blocks[1].SignedHeader(), b.blocks[1].Data()), blk)
	})
	t.Run("submit", func(t *testing.T) {
		pending, err := c.SubmitTx(ctx, []byte("hello"))
		require.NoError(t, err)
		require.Equal(t, 1, pending)
		require.Equal(t, [][]byte{[]byte("hello")}, b.submitted())
	})
}

func TestClientHTTPError(t *testing.T) {
	b := newFakeBackend(t, 1)
	b.txErr = api.ErrNotSequencer
	_, base := startServer(t, b, nil)
	c := newClient(t, base)
	ctx := context.Background()

	_, err := c.Header(ctx, "9")
	var httpErr *api.HTTPError
	require.ErrorAs(t, err, &httpErr)
	require.Equal(t, http.StatusNotFound, httpErr.StatusCode)
	require.Contains(t, httpErr.Message, "header 9")
	require.Contains(t, httpErr.Message, "not found")
	require.Contains(t, err.Error(), "/headers/9", "the error names the URL")
	require.NotContains(t, err.Error(), "\n", "one line")

	_, err = c.Block(ctx, 5)
	require.ErrorAs(t, err, &httpErr)
	require.Equal(t, http.StatusNotFound, httpErr.StatusCode)

	_, err = c.SubmitTx(ctx, []byte("tx"))
	require.ErrorAs(t, err, &httpErr)
	require.Equal(t, http.StatusForbidden, httpErr.StatusCode)
	require.Contains(t, httpErr.Message, api.ErrNotSequencer.Error())
}

// countingServer counts requests and answers each with code and body.
func countingServer(t *testing.T, code int, body string) (*httptest.Server, *atomic.Int64, *atomic.Value) {
	t.Helper()
	var n atomic.Int64
	var lastPath atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		lastPath.Store(r.URL.Path)
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &n, &lastPath
}

func TestClientRejectsBadInputBeforeRequest(t *testing.T) {
	srv, requests, _ := countingServer(t, http.StatusOK, "{}")
	c := newClient(t, srv.URL)
	ctx := context.Background()

	for _, ref := range []string{"", "abc", "0", "-1", "1.5", "99999999999999999999", "zz", strings.Repeat("a", 63), strings.Repeat("g", 64), " head"} {
		t.Run(ref, func(t *testing.T) {
			_, err := c.Header(ctx, ref)
			require.ErrorIs(t, err, api.ErrInvalidRef)
			require.Contains(t, err.Error(), fmt.Sprintf("%q", ref), "the error names the ref")
		})
	}
	_, err := c.Block(ctx, 0)
	require.ErrorIs(t, err, api.ErrInvalidRef)
	_, err = c.SubmitTx(ctx, make([]byte, api.MaxTxBodySize+1))
	require.ErrorIs(t, err, api.ErrTxTooLarge)
	require.Zero(t, requests.Load(), "no request was sent")
}

func TestClientNonAPIError(t *testing.T) {
	srv, _, _ := countingServer(t, http.StatusBadGateway, "upstream down\nsecond line")
	c := newClient(t, srv.URL)

	_, err := c.Status(context.Background())
	var httpErr *api.HTTPError
	require.ErrorAs(t, err, &httpErr)
	require.Equal(t, &api.HTTPError{StatusCode: http.StatusBadGateway, Message: "upstream down"}, httpErr)
	require.Contains(t, err.Error(), "502 Bad Gateway: upstream down")
}

func TestClientBadReply(t *testing.T) {
	srv, _, _ := countingServer(t, http.StatusOK, "not json")
	c := newClient(t, srv.URL)

	_, err := c.Status(context.Background())
	require.ErrorContains(t, err, "decode reply")
	var httpErr *api.HTTPError
	require.False(t, errors.As(err, &httpErr))
}

func TestClientKeepsPathPrefix(t *testing.T) {
	srv, _, lastPath := countingServer(t, http.StatusOK, `{"height": 7}`)
	c := newClient(t, srv.URL+"/node1/")

	h, err := c.Header(context.Background(), "7")
	require.NoError(t, err)
	require.Equal(t, uint64(7), h.Height)
	require.Equal(t, "/node1/headers/7", lastPath.Load())

	hash := strings.Repeat("ab", 32)
	_, err = c.Header(context.Background(), hash)
	require.NoError(t, err)
	require.Equal(t, "/node1/headers/hash/"+hash, lastPath.Load())
}

func TestClientConnectionError(t *testing.T) {
	// A port that was free a moment ago: nothing listens there.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()

	c := newClient(t, url)
	_, err := c.Status(context.Background())
	require.Error(t, err)
	require.Contains(t, err.Error(), url)
}
