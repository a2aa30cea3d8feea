package p2psync_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/celestiaorg/go-libp2p-messenger/serde"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
)

// staller makes p answer single-header requests from hs (genesis at index
// 0) when answer allows, and hold every other request open until the test
// ends. It counts the requests it stalls.
func staller(t *testing.T, p *testPeer, hs []*types.SignedHeader, answer func(*p2p_pb.HeaderRequest) bool) *atomic.Int64 {
	var stalled atomic.Int64
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	p.client.Host().SetStreamHandler(protocol.ID(p2psync.Headers.ProtocolID(chainID)), func(s network.Stream) {
		var req p2p_pb.HeaderRequest
		if _, err := serde.Read(s, &req); err != nil {
			_ = s.Reset()
			return
		}
		if answer(&req) {
			h := hs[len(hs)-1]
			if o := req.GetOrigin(); o != 0 {
				h = hs[o-1]
			}
			bz, err := h.MarshalBinary()
			if err != nil { // off the test goroutine: report, do not FailNow
				t.Errorf("marshal header %d: %v", h.Height(), err)
				_ = s.Reset()
				return
			}
			_, _ = serde.Write(s, &p2p_pb.HeaderResponse{Body: bz, StatusCode: p2p_pb.StatusCode_OK})
			_ = s.Close()
			return
		}
		stalled.Add(1)
		<-done
		_ = s.Reset()
	})
	return &stalled
}

// A node whose only peer stalls every range request does not give up: once
// an honest peer connects, it syncs from it. (The syncer retries a failed
// sync only when a new head arrives, and this chain is quiet.)
func TestSyncResumesWhenAnHonestPeerJoins(t *testing.T) {
	gen := newGenerator(t, 1200)
	hs, err := gen.Headers(1200)
	require.NoError(t, err)
	stall := newPeer(t, peerOpts{})
	stalled := staller(t, stall, hs, func(r *p2p_pb.HeaderRequest) bool {
		return r.Amount == 1 && r.GetOrigin() <= uint64(len(hs))
	})

	victimPeer := newPeer(t, peerOpts{seeds: []string{stall.addr()}})
	victim := headerService(t, victimPeer, gen.Genesis, serviceOpts{requestTimeout: 500 * time.Millisecond})
	require.Eventually(t, func() bool { return victim.Initialised() && stalled.Load() >= 2 }, waitFor, tick)

	honest := servingPeer(t, gen, hs)
	require.NoError(t, victimPeer.client.Host().Connect(context.Background(), peer.AddrInfo{ID: honest.id(), Addrs: honest.client.Host().Addrs()}))
	waitHead(t, victim, hs[len(hs)-1].Hash())
}

// A node whose stored head is weeks old restarts without a peer in sight:
// go-header would re-trust any head a peer offers after its two-week
// trusting period, and fail to start when none is connected; trust here
// comes from the genesis key, which does not expire.
func TestRestartWithAMonthOldHead(t *testing.T) {
	gen, err := chaingen.New(chainID, 10, chaingen.Options{Start: time.Now().Add(-30 * 24 * time.Hour)})
	require.NoError(t, err)
	hs, err := gen.Headers(10)
	require.NoError(t, err)
	p := newPeer(t, peerOpts{})
	importChain(t, p.ds, hs)
	svc := headerService(t, p, gen.Genesis, serviceOpts{})
	require.True(t, svc.Initialised())
	require.Equal(t, uint64(10), svc.Height())
}

// A chain older than two weeks synced from its genesis header, with one
// peer that answers nothing but the genesis header: initialisation and sync
// go ahead with the honest peer instead of waiting on the silent one.
func TestOldChainWithASilentPeer(t *testing.T) {
	const n = 100
	gen, err := chaingen.New(chainID, n, chaingen.Options{Start: time.Now().Add(-20 * 24 * time.Hour), Step: 20 * 24 * time.Hour / n})
	require.NoError(t, err)
	hs, err := gen.Headers(n - 1)
	require.NoError(t, err)
	silent := newPeer(t, peerOpts{})
	staller(t, silent, hs, func(r *p2p_pb.HeaderRequest) bool { return r.GetOrigin() == 1 && r.Amount == 1 })
	honest := servingPeer(t, gen, hs)

	victimPeer := newPeer(t, peerOpts{seeds: []string{silent.addr(), honest.addr()}})
	victimPeer.waitServes(p2psync.Headers, silent.id(), honest.id())
	victim := headerService(t, victimPeer, gen.Genesis, serviceOpts{requestTimeout: time.Second})
	waitHead(t, victim, hs[len(hs)-1].Hash())
}
