package p2psync

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/celestiaorg/go-libp2p-messenger/serde"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/internal/p2ptest"
	"github.com/headersync/headersync/p2psync/peers"
	"github.com/headersync/headersync/types"
)

// fresh returns copies of hs that remember no validation, as if decoded
// from a peer.
func fresh(hs []*types.SignedHeader) []*types.SignedHeader {
	out := make([]*types.SignedHeader, len(hs))
	for i, h := range hs {
		out[i] = types.NewSignedHeader(h.Header(), h.Signature(), h.Signer())
	}
	return out
}

// extends pins a break on the sender, except a break at the seam with a
// header the sender did not vouch for: that one may be the anchor's fault.
func TestExtends(t *testing.T) {
	gen, err := chaingen.New("gm", 6, chaingen.Options{})
	require.NoError(t, err)
	chain, err := gen.Headers(6)
	require.NoError(t, err)
	const from = peer.ID("sender")
	isFault := func(err error) bool {
		var f *peers.Fault
		return errors.As(err, &f) && f.Peer == from
	}

	require.NoError(t, extends(chain[0], fresh(chain[1:]), from, false))

	skipped := fresh(append([]*types.SignedHeader{chain[1]}, chain[3:]...))
	require.True(t, isFault(extends(chain[0], skipped, from, false)), "a missing height inside an answer is the sender's")

	require.True(t, isFault(extends(chain[0], fresh(chain[2:]), from, true)), "answering the wrong height is the sender's")

	// A header that does not link to a trusted prev is the sender's fault;
	// to an untrusted anchor, it is inconclusive.
	tampered := chain[0].Header()
	tampered.Time = tampered.Time.Add(time.Millisecond)
	anchor := types.NewSignedHeader(tampered, chain[0].Signature(), chain[0].Signer())
	err = extends(anchor, fresh(chain[1:]), from, false)
	require.ErrorIs(t, err, errAnchorMismatch)
	require.False(t, isFault(err))
	require.True(t, isFault(extends(anchor, fresh(chain[1:]), from, true)))
}

// A peer that forges the extra header below each chunk (the one the chunk
// must extend) does not break a range: its answers fail authentication, it
// is banned, and each chunk is fetched again from the verified header below
// it.
func TestForgedSeamHeadersAreRefetchedAroundAndPunished(t *testing.T) {
	const n = 64
	gen, err := chaingen.New("gm", n, chaingen.Options{})
	require.NoError(t, err)
	chain, err := gen.Headers(n)
	require.NoError(t, err)

	mn, err := mocknet.FullMeshConnected(2)
	require.NoError(t, err)
	t.Cleanup(func() { _ = mn.Close() })
	client, server := mn.Hosts()[0], mn.Hosts()[1]
	proto := protocol.ID(Headers.ProtocolID("gm"))

	// The server answers the chunks fetched from the verified header below
	// honestly, and forges the lowest header of every answer that starts
	// one below a chunk: the right header with its time moved, under the
	// original signature.
	server.SetStreamHandler(proto, func(s network.Stream) {
		var req p2p_pb.HeaderRequest
		if _, err := serde.Read(s, &req); err != nil {
			_ = s.Reset()
			return
		}
		for h := req.GetOrigin(); h < req.GetOrigin()+req.Amount && h <= n; h++ {
			out := chain[h-1]
			if h == req.GetOrigin() && h > 1 && (h-1)%16 == 0 {
				forged := out.Header()
				forged.Time = forged.Time.Add(time.Millisecond)
				out = types.NewSignedHeader(forged, out.Signature(), out.Signer())
			}
			bz, err := out.MarshalBinary()
			if err != nil {
				_ = s.Reset()
				return
			}
			if _, err := serde.Write(s, &p2p_pb.HeaderResponse{Body: bz, StatusCode: p2p_pb.StatusCode_OK}); err != nil {
				return
			}
		}
		_ = s.Close()
	})
	p2ptest.RecordServes(t, client, server.ID(), proto)

	var (
		mu   sync.Mutex
		bans []peer.ID
	)
	rep := peers.NewReputation(func(p peer.ID, _ error) { mu.Lock(); bans = append(bans, p); mu.Unlock() }, nil)
	f := newFetcher[*types.SignedHeader](nil, peers.NewClient[*types.SignedHeader](client, proto, nil, rep, time.Second),
		gen.Genesis, func() uint64 { return n }, fetchConfig{RequestSize: 16, RequestTimeout: time.Second, RetryMin: time.Millisecond, RetryMax: time.Millisecond},
		slog.New(slog.DiscardHandler))
	t.Cleanup(f.close)

	got, err := f.parallelRange(context.Background(), chain[0], 2, n+1, true, 0)
	require.NoError(t, err)
	require.Len(t, got, n-1)
	for i, h := range got {
		require.Equal(t, chain[i+1].Hash(), h.Hash(), "height %d", h.Height())
	}
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []peer.ID{server.ID()}, bans, "the forger is banned once")
}
