package exserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	hp2p "github.com/celestiaorg/go-header/p2p"
	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	hstore "github.com/celestiaorg/go-header/store"
	"github.com/celestiaorg/go-libp2p-messenger/serde"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/types"
)

const (
	chainID = "gm"
	// waitFor bounds every condition polled on loopback.
	waitFor = 20 * time.Second
	tick    = 5 * time.Millisecond
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newHost is a libp2p host listening on TCP on 127.0.0.1.
func newHost(tb testing.TB) host.Host {
	tb.Helper()
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.DisableRelay(),
		libp2p.ResourceManager(&network.NullResourceManager{}),
	)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, h.Close()) })
	return h
}

// connect connects a to b.
func connect(tb testing.TB, a, b host.Host) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(tb, a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}))
}

// makeChain signs n headers from height 1.
func makeChain(tb testing.TB, n int) []*types.SignedHeader {
	tb.Helper()
	gen, err := chaingen.New(chainID, n, chaingen.Options{})
	require.NoError(tb, err)
	hs, err := gen.Headers(n)
	require.NoError(tb, err)
	return hs
}

// newHeaderStore is go-header's store over an in-memory datastore holding
// chain (which may start above height 1).
func newHeaderStore(tb testing.TB, chain []*types.SignedHeader) *hstore.Store[*types.SignedHeader] {
	tb.Helper()
	ctx := context.Background()
	ds := dssync.MutexWrap(datastore.NewMapDatastore())
	st, err := hstore.NewStore[*types.SignedHeader](ds)
	require.NoError(tb, err)
	require.NoError(tb, st.Start(ctx))
	tb.Cleanup(func() { require.NoError(tb, st.Stop(context.Background())) })
	if len(chain) == 0 {
		return st
	}
	require.NoError(tb, st.Init(ctx, chain[0]))
	for i := 1; i < len(chain); i += 1000 {
		require.NoError(tb, st.Append(ctx, chain[i:min(i+1000, len(chain))]...))
	}
	want := chain[len(chain)-1].Height()
	eventually(tb, func() bool { return st.Height() == want }, "store height %d", want)
	return st
}

// eventually polls cond until it holds or waitFor passes.
func eventually(tb testing.TB, cond func() bool, what string, args ...any) {
	tb.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waited %v for "+what, append([]any{waitFor}, args...)...)
		}
		time.Sleep(tick)
	}
}

// startGoHeader starts go-header's own ExchangeServer for networkID.
func startGoHeader(tb testing.TB, h host.Host, networkID string, st *hstore.Store[*types.SignedHeader], readDeadline time.Duration) {
	tb.Helper()
	srv, err := hp2p.NewExchangeServer[*types.SignedHeader](h, st,
		hp2p.WithNetworkID[hp2p.ServerParameters](networkID),
		hp2p.WithReadDeadline[hp2p.ServerParameters](readDeadline))
	require.NoError(tb, err)
	require.NoError(tb, srv.Start(context.Background()))
	tb.Cleanup(func() { require.NoError(tb, srv.Stop(context.Background())) })
}

// startServer starts a Server for networkID over st.
func startServer(tb testing.TB, h host.Host, networkID string, st Store, opts ...Option) *Server {
	tb.Helper()
	srv, err := New(h, ProtocolID(networkID), st, opts...)
	require.NoError(tb, err)
	require.NoError(tb, srv.Start(context.Background()))
	tb.Cleanup(func() { require.NoError(tb, srv.Stop(context.Background())) })
	return srv
}

// encodeRequest frames req as a client sends it.
func encodeRequest(tb testing.TB, req *p2p_pb.HeaderRequest) []byte {
	tb.Helper()
	var buf bytes.Buffer
	_, err := serde.Write(&buf, req)
	require.NoError(tb, err)
	return buf.Bytes()
}

// reply is everything a server sent on one stream and how the stream ended.
type reply struct {
	raw   []byte // the bytes received, framing included
	reset bool   // the stream ended with a reset, not a clean close
}

// messages decodes the responses in r.
func (r reply) messages(tb testing.TB) []*p2p_pb.HeaderResponse {
	tb.Helper()
	var out []*p2p_pb.HeaderResponse
	rd := bytes.NewReader(r.raw)
	for rd.Len() > 0 {
		var m p2p_pb.HeaderResponse
		_, err := serde.Read(rd, &m)
		require.NoError(tb, err)
		out = append(out, &m)
	}
	return out
}

func (r reply) String() string {
	return fmt.Sprintf("%d bytes, reset=%v", len(r.raw), r.reset)
}

// ask sends raw on a new stream to p and reads until the stream ends. The
// write side is closed after raw unless keepOpen.
func ask(tb testing.TB, h host.Host, p peer.ID, proto protocol.ID, raw []byte, keepOpen bool) reply {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	str, err := h.NewStream(ctx, p, proto)
	require.NoError(tb, err)
	defer str.Reset() //nolint:errcheck // ends the stream whatever happened
	require.NoError(tb, str.SetDeadline(time.Now().Add(waitFor)))
	// A server may reset the stream before it has all of raw (a refused
	// request): the write fails, and the read says how the stream ended.
	var werr error
	if len(raw) > 0 {
		_, werr = str.Write(raw)
	}
	if !keepOpen && werr == nil {
		werr = str.CloseWrite()
	}
	got, err := io.ReadAll(str)
	r := reply{raw: got}
	switch {
	case err == nil && werr != nil:
		tb.Fatalf("write request: %v, and then the stream closed cleanly", werr)
	case err == nil:
	case errors.Is(err, network.ErrReset), errors.Is(err, io.ErrUnexpectedEOF):
		r.reset = true
	default:
		// Multistream negotiation failing on a reset stream surfaces as
		// some other error; anything but a clean EOF is a reset here.
		r.reset = true
		tb.Logf("stream ended with %v", err)
	}
	return r
}
