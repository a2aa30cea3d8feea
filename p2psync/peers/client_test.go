package peers

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/celestiaorg/go-libp2p-messenger/serde"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/internal/p2ptest"
	"github.com/headersync/headersync/types"
)

const proto = protocol.ID("/gm/header-ex/v0.0.3")

// network returns n connected mock hosts; the first is the client's.
func meshOf(t *testing.T, n int) []host.Host {
	t.Helper()
	mn, err := mocknet.FullMeshConnected(n)
	require.NoError(t, err)
	t.Cleanup(func() { _ = mn.Close() })
	return mn.Hosts()
}

// serve makes the others serve proto (with a handler that resets every
// stream) and records it in self's peerstore.
func serve(t *testing.T, self host.Host, others ...host.Host) {
	t.Helper()
	for _, o := range others {
		o.SetStreamHandler(proto, func(s network.Stream) { _ = s.Reset() })
		p2ptest.RecordServes(t, self, o.ID(), proto)
	}
}

func TestBestHasFewestStrikesAndSkipsTried(t *testing.T) {
	hs := meshOf(t, 4)
	rep := NewReputation(nil, nil)
	c := NewClient[*types.SignedHeader](hs[0], proto, nil, rep, time.Second)

	_, err := c.Best(nil)
	require.ErrorIs(t, err, ErrNoServingPeers, "nobody announced the protocol yet")

	serve(t, hs[0], hs[1], hs[2], hs[3])
	rep.Judge(context.Background(), hs[3].ID(), errors.New("timeout"))

	best, err := c.Best(nil)
	require.NoError(t, err)
	require.ElementsMatch(t, []peer.ID{hs[1].ID(), hs[2].ID()}, best,
		"the peers without strikes, not the one with, while they serve")
	tried := map[peer.ID]bool{hs[1].ID(): true, hs[2].ID(): true}
	best, err = c.Best(tried)
	require.NoError(t, err)
	require.Equal(t, []peer.ID{hs[3].ID()}, best, "a peer with strikes is asked once the better ones failed")
	tried[hs[3].ID()] = true
	_, err = c.Best(tried)
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrNoServingPeers, "every peer failed: not the same as none serving")
}

// answerWith makes h answer every request with resps, then close.
func answerWith(h host.Host, resps ...*p2p_pb.HeaderResponse) {
	h.SetStreamHandler(proto, func(s network.Stream) {
		var req p2p_pb.HeaderRequest
		if _, err := serde.Read(s, &req); err != nil {
			_ = s.Reset()
			return
		}
		for _, r := range resps {
			if _, err := serde.Write(s, r); err != nil {
				_ = s.Reset()
				return
			}
		}
		_ = s.Close()
	})
}

func TestRequestTellsFaultsFromFailures(t *testing.T) {
	gen, err := chaingen.New("gm", 3, chaingen.Options{})
	require.NoError(t, err)
	chain, err := gen.Headers(3)
	require.NoError(t, err)
	ok := func(h *types.SignedHeader) *p2p_pb.HeaderResponse {
		bz, err := h.MarshalBinary()
		require.NoError(t, err)
		return &p2p_pb.HeaderResponse{Body: bz, StatusCode: p2p_pb.StatusCode_OK}
	}
	two := &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: 1}, Amount: 2}
	ctx := context.Background()

	for _, tc := range []struct {
		name  string
		resps []*p2p_pb.HeaderResponse
		check func(*types.SignedHeader) error
		fault bool
		is    error
		n     int
	}{
		{name: "full answer", resps: []*p2p_pb.HeaderResponse{ok(chain[0]), ok(chain[1])}, n: 2},
		{name: "partial answer", resps: []*p2p_pb.HeaderResponse{ok(chain[0])}, n: 1},
		{name: "more than asked", resps: []*p2p_pb.HeaderResponse{ok(chain[0]), ok(chain[1]), ok(chain[2])}, fault: true},
		{name: "not found", resps: []*p2p_pb.HeaderResponse{{StatusCode: p2p_pb.StatusCode_NOT_FOUND}}, is: header.ErrNotFound},
		{name: "undecodable", resps: []*p2p_pb.HeaderResponse{{Body: []byte("junk"), StatusCode: p2p_pb.StatusCode_OK}}, fault: true},
		{name: "fails the check", resps: []*p2p_pb.HeaderResponse{ok(chain[0])}, fault: true,
			check: func(*types.SignedHeader) error { return errors.New("not ours") }},
		{name: "from the future", resps: []*p2p_pb.HeaderResponse{ok(chain[0])}, is: header.ErrFromFuture,
			check: func(*types.SignedHeader) error { return header.ErrFromFuture }},
		{name: "no answer at all", resps: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := meshOf(t, 2)
			answerWith(hs[1], tc.resps...)
			c := NewClient[*types.SignedHeader](hs[0], proto, nil, NewReputation(nil, nil), time.Second)
			got, err := c.Request(ctx, hs[1].ID(), two, tc.check)
			var fault *Fault
			switch {
			case tc.fault:
				require.True(t, errors.As(err, &fault), "%v is no fault", err)
				require.Equal(t, hs[1].ID(), fault.Peer)
			case tc.is != nil:
				require.ErrorIs(t, err, tc.is)
				require.False(t, errors.As(err, &fault), "%v must not be a fault", err)
			case tc.n == 0:
				require.Error(t, err)
				require.False(t, errors.As(err, &fault), "an empty answer is a failure, not a fault")
			default:
				require.NoError(t, err)
				require.Len(t, got, tc.n)
				require.Equal(t, chain[0].Hash(), got[0].Hash())
			}
		})
	}
}

// The head vote does not wait for a peer that stalls: once a valid head is
// in, it waits only about as long again.
func TestHeadVoteDoesNotWaitForTheSlowest(t *testing.T) {
	gen, err := chaingen.New("gm", 3, chaingen.Options{})
	require.NoError(t, err)
	chain, err := gen.Headers(3)
	require.NoError(t, err)
	bz, err := chain[2].MarshalBinary()
	require.NoError(t, err)

	hs := meshOf(t, 3)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	serve(t, hs[0], hs[1], hs[2])
	answerWith(hs[1], &p2p_pb.HeaderResponse{Body: bz, StatusCode: p2p_pb.StatusCode_OK})
	hs[2].SetStreamHandler(proto, func(s network.Stream) { // reads the request, never answers
		<-stop
		_ = s.Reset()
	})

	c := NewClient[*types.SignedHeader](hs[0], proto, nil, NewReputation(nil, nil), 20*time.Second)
	began := time.Now()
	head, err := c.Head(context.Background(), nil, nil)
	require.NoError(t, err)
	require.Equal(t, chain[2].Hash(), head.Hash())
	require.Less(t, time.Since(began), 5*time.Second, "the vote waited for the stalling peer")
}
