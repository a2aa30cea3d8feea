package exserver

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a log sink the test may read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

// stall opens a stream from h to p and sends the start of a request and
// no more: the server's handler waits for the rest, holding its slot.
func stall(t *testing.T, h host.Host, p peer.ID) network.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	str, err := h.NewStream(ctx, p, ProtocolID(chainID))
	require.NoError(t, err)
	t.Cleanup(func() { _ = str.Reset() })
	_, err = str.Write([]byte{5}) // a frame of 5 bytes follows, never sent
	require.NoError(t, err)
	return str
}

func headRequest(t *testing.T) []byte {
	return encodeRequest(t, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: 0}, Amount: 1})
}

// limitsNet is a server with limits and two client peers.
func limitsNet(t *testing.T, l Limits) (srv *Server, srvHost, a, b host.Host, logs *syncBuffer) {
	t.Helper()
	srvHost, a, b = newHost(t), newHost(t), newHost(t)
	connect(t, a, srvHost)
	connect(t, b, srvHost)
	logs = &syncBuffer{}
	st := newHeaderStore(t, makeChain(t, 10))
	srv = startServer(t, srvHost, chainID, FromHeaderStore(st), WithLimits(l), WithReadDeadline(waitFor),
		WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	return srv, srvHost, a, b, logs
}

func requireServed(t *testing.T, r reply) {
	t.Helper()
	require.False(t, r.reset, "refused: %v", r)
	require.Len(t, r.messages(t), 1)
}

func requireRefused(t *testing.T, r reply) {
	t.Helper()
	require.True(t, r.reset, "served: %v", r)
	require.Empty(t, r.raw)
}

func TestLimitsPerPeerConcurrency(t *testing.T) {
	srv, srvHost, a, b, logs := limitsNet(t, Limits{Concurrent: 64, PerPeerConcurrent: 2, PerPeerRate: 1000, PerPeerBurst: 1000})
	s1, s2 := stall(t, a, srvHost.ID()), stall(t, a, srvHost.ID())
	eventually(t, func() bool { return srv.running() == 2 }, "two stalled requests")

	requireRefused(t, ask(t, a, srvHost.ID(), ProtocolID(chainID), headRequest(t), false))
	requireServed(t, ask(t, b, srvHost.ID(), ProtocolID(chainID), headRequest(t), false))
	requireRefused(t, ask(t, a, srvHost.ID(), ProtocolID(chainID), headRequest(t), false))
	require.EqualValues(t, 2, srv.Refused())
	// The refusal is logged after the stream is reset.
	eventually(t, func() bool { return logs.count("refusing exchange requests") > 0 }, "the refusal to be logged")
	require.Equal(t, 1, logs.count("refusing exchange requests"), "a peer's refusals are logged once a minute")

	// Once its requests end, the peer is served again.
	require.NoError(t, s1.Reset())
	require.NoError(t, s2.Reset())
	eventually(t, func() bool { return srv.running() == 0 }, "stalled requests to end")
	requireServed(t, ask(t, a, srvHost.ID(), ProtocolID(chainID), headRequest(t), false))
}

func TestLimitsPerPeerRate(t *testing.T) {
	srv, srvHost, a, b, _ := limitsNet(t, Limits{Concurrent: 64, PerPeerConcurrent: 16, PerPeerRate: 1e-6, PerPeerBurst: 3})
	for i := 0; i < 3; i++ {
		requireServed(t, ask(t, a, srvHost.ID(), ProtocolID(chainID), headRequest(t), false))
	}
	requireRefused(t, ask(t, a, srvHost.ID(), ProtocolID(chainID), headRequest(t), false))
	requireServed(t, ask(t, b, srvHost.ID(), ProtocolID(chainID), headRequest(t), false))
	require.EqualValues(t, 1, srv.Refused())
}

func TestLimitsTotalConcurrency(t *testing.T) {
	srv, srvHost, a, b, _ := limitsNet(t, Limits{Concurrent: 2, PerPeerConcurrent: 16, PerPeerRate: 1000, PerPeerBurst: 1000})
	s1, s2 := stall(t, a, srvHost.ID()), stall(t, a, srvHost.ID())
	eventually(t, func() bool { return srv.running() == 2 }, "two stalled requests")
	requireRefused(t, ask(t, b, srvHost.ID(), ProtocolID(chainID), headRequest(t), false))
	require.EqualValues(t, 1, srv.Refused())
	require.NoError(t, s1.Reset())
	require.NoError(t, s2.Reset())
	eventually(t, func() bool { return srv.running() == 0 }, "stalled requests to end")
	requireServed(t, ask(t, b, srvHost.ID(), ProtocolID(chainID), headRequest(t), false))
}

// fakeClock is a limiter's clock moved by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func peerN(i int) peer.ID { return peer.ID(string(rune('a'+i%26)) + strings.Repeat("x", i/26+1)) }

func TestLimiterRemembersBoundedPeers(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	l := newLimiter(Limits{Concurrent: 4 * maxPeers, PerPeerConcurrent: 1, PerPeerRate: 1000, PerPeerBurst: 1000})
	l.now = clock.Now

	// Every remembered peer has a request in flight: a new one is refused.
	for i := 0; i < maxPeers; i++ {
		ok, _ := l.admit(peerN(i))
		require.True(t, ok)
		clock.now = clock.now.Add(time.Millisecond)
	}
	ok, r := l.admit(peerN(maxPeers))
	require.False(t, ok)
	require.Equal(t, "too many peers", r.why)
	require.True(t, r.log)
	_, r = l.admit(peerN(maxPeers + 1))
	require.False(t, r.log, "logged once a minute")

	// Once requests end, the least recently seen peer makes room.
	for i := 0; i < maxPeers; i++ {
		l.release(peerN(i))
	}
	ok, _ = l.admit(peerN(maxPeers))
	require.True(t, ok)
	require.Equal(t, maxPeers, l.tracked())
	l.mu.Lock()
	_, kept := l.peers[peerN(0)]
	l.mu.Unlock()
	require.False(t, kept, "the least recently seen peer is forgotten")
	l.release(peerN(maxPeers))

	// Idle peers are forgotten together once the map is full again.
	clock.now = clock.now.Add(peerIdle)
	ok, _ = l.admit(peerN(maxPeers + 2))
	require.True(t, ok)
	require.Equal(t, 1, l.tracked())
}

func TestLimiterLogsOncePerMinutePerPeer(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	l := newLimiter(Limits{Concurrent: 8, PerPeerConcurrent: 1, PerPeerRate: 1000, PerPeerBurst: 1000})
	l.now = clock.Now
	ok, _ := l.admit("p")
	require.True(t, ok)
	var logged []bool
	for i := 0; i < 3; i++ {
		ok, r := l.admit("p")
		require.False(t, ok)
		require.Equal(t, "too many requests in flight", r.why)
		logged = append(logged, r.log)
		clock.now = clock.now.Add(35 * time.Second)
	}
	require.Equal(t, []bool{true, false, true}, logged)
	require.EqualValues(t, 3, l.refused.Load())
}

func TestLimitsValidate(t *testing.T) {
	require.NoError(t, DefaultLimits().Validate())
	err := Limits{Concurrent: 1, PerPeerConcurrent: 0, PerPeerRate: -1, PerPeerBurst: 1}.Validate()
	require.ErrorIs(t, err, ErrInvalidLimits)
	require.ErrorContains(t, err, "PerPeerConcurrent is 0")
	require.ErrorContains(t, err, "PerPeerRate is -1")

	_, err = New(nil, ProtocolID(chainID), nil, WithLimits(Limits{}))
	require.ErrorIs(t, err, ErrInvalidLimits)
	_, err = New(nil, ProtocolID(chainID), nil)
	require.True(t, errors.Is(err, ErrInvalidParams))
}
