package p2psync_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/internal/adversary"
	"github.com/headersync/headersync/internal/bench"
	"github.com/headersync/headersync/p2psync"
)

// honestLatencies times n requests for 64 headers each from h's host.
func honestLatencies(t *testing.T, client *adversary.Adversary, server peer.ID, proto protocol.ID, n int) []time.Duration {
	t.Helper()
	var out []time.Duration
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		got, err := adversary.Request(ctx, client.Client().Host(), server, proto,
			&p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: uint64(1 + rand.IntN(1900))}, Amount: 64})
		cancel()
		require.NoError(t, err, "honest request %d", i)
		require.Equal(t, 64, got, "honest request %d was not fully answered", i)
		out = append(out, time.Since(start))
	}
	slices.Sort(out)
	return out
}

// A flood of 10 000 range requests from one peer neither starves another
// peer's requests nor grows the server's memory without bound: the limits
// in front of go-header's exchange server refuse what is over one peer's
// share at once.
func TestExchangeServerUnderFlood(t *testing.T) {
	gen := newGenerator(t, 2000)
	hs, err := gen.Headers(2000)
	require.NoError(t, err)
	server := newPeer(t, peerOpts{})
	importChain(t, server.ds, hs)
	// Limits a flood of 256 requests at once outruns whatever the machine's
	// speed (the defaults admit a deep honest pipeline: 128 at once).
	svc := headerService(t, server, gen.Genesis, serviceOpts{sequencer: true,
		limits: p2psync.Limits{Concurrent: 64, PerPeerConcurrent: 16, PerPeerRate: 1000, PerPeerBurst: 500}})
	proto := protocol.ID(p2psync.Headers.ProtocolID(chainID))

	ctx := context.Background()
	newClient := func() *adversary.Adversary {
		a, err := adversary.Start(ctx, adversary.Options{ChainID: chainID, Honest: hs[:1], Seeds: []string{server.addr()}})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, a.Close()) })
		require.Eventually(t, func() bool { return server.connectedTo(&testPeer{client: a.Client()}) }, waitFor, tick)
		return a
	}
	honest, attacker := newClient(), newClient()

	quiet := honestLatencies(t, honest, server.id(), proto, 30)

	runtime.GC()
	heap := bench.StartHeapSampler()
	floodDone := make(chan adversary.FloodResult, 1)
	floodCtx, stopFlood := context.WithTimeout(ctx, 2*time.Minute)
	defer stopFlood()
	go func() {
		floodDone <- adversary.Flood(floodCtx, attacker.Client().Host(), server.id(), proto, 10_000, 256, 1, 512)
	}()
	require.Eventually(t, func() bool { return svc.State(ctx).RequestsRefused > 0 }, waitFor, tick, "the flood was never limited")
	busy := honestLatencies(t, honest, server.id(), proto, 30)
	flood := <-floodDone
	peak := heap.Stop()

	t.Logf("honest 64-header requests: quiet p50 %s max %s; under flood p50 %s max %s",
		quiet[len(quiet)/2], quiet[len(quiet)-1], busy[len(busy)/2], busy[len(busy)-1])
	t.Logf("flood: %d requests, %d answered, %d refused; server refused %d; peak heap %.1f MiB",
		10_000, flood.Answered, flood.Refused, svc.State(ctx).RequestsRefused, peak)

	require.Less(t, busy[len(busy)-1], 2*time.Second, "an honest request waited too long during the flood")
	require.Positive(t, flood.Refused, "nothing of the flood was refused")
	require.Less(t, peak, 256.0, "the server's memory grew without bound")
}
