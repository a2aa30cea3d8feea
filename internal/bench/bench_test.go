package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// benchHeaders is the chain length of BenchmarkCatchup; HEADERSYNC_BENCH_HEADERS
// overrides it (the CLI's default is 50 000).
func benchHeaders(b *testing.B) int {
	if v := os.Getenv("HEADERSYNC_BENCH_HEADERS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err)
		return n
	}
	return 20_000
}

// BenchmarkCatchup times a fresh node catching up through 1 and 3 peers, and
// reports the rate next to the signature-verification limit of the same run.
func BenchmarkCatchup(b *testing.B) {
	for _, peers := range []int{1, 3} {
		b.Run(fmt.Sprintf("peers=%d", peers), func(b *testing.B) {
			var last CatchupResult
			for b.Loop() {
				res, err := Catchup(context.Background(), CatchupOptions{Headers: benchHeaders(b), Peers: peers, Store: "pebble", Dir: b.TempDir()})
				require.NoError(b, err)
				last = res
			}
			b.ReportMetric(last.Rate, "headers/s")
			b.ReportMetric(last.VerifyAllCores, "verifies/s")
			b.ReportMetric(last.Ratio(), "ratio_allcores")
			b.ReportMetric(last.PeakHeapMiB, "peak_heap_MiB")
			b.Log(last)
		})
	}
}

// BenchmarkGossip measures publish-to-store delays over 10 nodes.
func BenchmarkGossip(b *testing.B) {
	var last GossipResult
	for b.Loop() {
		res, err := Gossip(context.Background(), GossipOptions{Nodes: 10, BlockTime: 100 * time.Millisecond, Blocks: 50})
		require.NoError(b, err)
		last = res
	}
	b.ReportMetric(float64(last.P50)/float64(time.Millisecond), "p50_ms")
	b.ReportMetric(float64(last.P99)/float64(time.Millisecond), "p99_ms")
	b.ReportMetric(float64(last.Missed), "missed")
	b.ReportMetric(last.CPUCores, "cpu_cores")
	b.ReportMetric(last.RSSMiBPerNode(), "rss_MiB_per_node")
	b.Log(last)
}

// The benchmarks' machinery works end to end on a small scale, and its
// summary lines keep the format scripts parse.
func TestCatchupSmoke(t *testing.T) {
	res, err := Catchup(context.Background(), CatchupOptions{Headers: 3000, Peers: 2, Store: "pebble", Dir: t.TempDir()})
	require.NoError(t, err)
	require.Equal(t, 3000, res.Headers)
	require.Positive(t, res.Rate)
	require.Positive(t, res.VerifyAllCores)
	require.GreaterOrEqual(t, res.VerifyAllCores, res.Verify1Core*0.8, "all cores verify at least about as fast as one")
	require.Regexp(t, `^catchup headers=3000 peers=2 store=pebble rate=\d+ verify_1core=\d+ verify_allcores=\d+ ratio_allcores=\d+\.\d\d verify_expanded_allcores=\d+ peak_heap_mb=\d+\.\d rtt_ms=0 steady_rate=\d+ disk_mb_per_1k=\d+\.\d{3} store_mb_per_1k=\d+\.\d{3}$`, res.String())
	// The syncing node wrote the chain at least once, and holds it.
	require.GreaterOrEqual(t, res.DiskWritten, res.StoreSize)
	require.Greater(t, res.StoreSize, uint64(3000*200), "3 000 headers of about 245 bytes are on disk")
	require.Zero(t, res.RelayedConns)
	require.Zero(t, res.RelayedBytes)
	require.Positive(t, res.DirectConns)

	_, err = Catchup(context.Background(), CatchupOptions{Headers: 10, Store: "disk"})
	require.ErrorContains(t, err, "--store")
}

// A light node joins at the head, fills its window and, following more
// headers, prunes it: the line has the figures the issue asks for, and the
// store after the follow holds about a window, not the whole chain.
func TestJoinSmoke(t *testing.T) {
	res, err := Join(context.Background(), JoinOptions{Headers: 5000, Retain: 1000, Follow: 2000, Dir: t.TempDir()})
	require.NoError(t, err)
	t.Log(res)
	require.Regexp(t, `^join headers=5000 retain=1000 rtt_ms=0 head_ms=\d+ window_ms=\d+ store_mb=\d+\.\d follow=2000 follow_ms=\d+ store_mb_after=\d+\.\d$`, res.String())
	require.LessOrEqual(t, res.Head, res.Window)
	require.Greater(t, res.BaseAfter, uint64(7000-1000+1-1000/16), "the window was not pruned")
	require.LessOrEqual(t, res.BaseAfter, uint64(7000-1000+1))

	_, err = Join(context.Background(), JoinOptions{Headers: 10, Retain: 11})
	require.ErrorContains(t, err, "--retain 11")
}

// With --rtt, the catch-up goes through one delaying relay per serving
// node and nothing else, and reports the RTTs and a steady rate.
func TestCatchupOverLatency(t *testing.T) {
	rtts := []time.Duration{20 * time.Millisecond, 60 * time.Millisecond}
	// 4 000 headers, so that the height passes 10 % and 90 % at different
	// samples even when answers from the two peers land out of order.
	res, err := Catchup(context.Background(), CatchupOptions{Headers: 4000, Peers: 2, Store: "pebble", Dir: t.TempDir(), RTT: rtts})
	require.NoError(t, err)
	t.Log(res)
	// The headers came through the relays (a signed header is about 245
	// bytes), and no connection to a serving node bypasses them. A peer the
	// syncing node dropped on the way is not counted, so the test does
	// not ask for one connection each.
	require.Greater(t, res.RelayedBytes, int64(4000*200), "%s", res)
	require.Positive(t, res.RelayedConns, "%s", res)
	require.Zero(t, res.DirectConns, "%s", res)
	require.Positive(t, res.SteadyRate, "%s", res)
	// The head vote, the first header and stream set-up take several round
	// trips of the nearer peer at least.
	require.Greater(t, res.Elapsed, 3*rtts[0])
	require.Regexp(t, ` rtt_ms=20,60 steady_rate=\d+ disk_mb_per_1k=`, res.String())
}

// Bad RTT lists are refused before anything starts.
func TestCatchupRTTValidation(t *testing.T) {
	_, err := Catchup(context.Background(), CatchupOptions{Headers: 10, Peers: 3, Store: "memory", RTT: []time.Duration{time.Millisecond, time.Millisecond}})
	require.ErrorContains(t, err, "--rtt 1,1: 2 values, expected 1 or one per peer (3)")
	_, err = Catchup(context.Background(), CatchupOptions{Headers: 10, Store: "memory", RTT: []time.Duration{-time.Millisecond}})
	require.ErrorContains(t, err, "--rtt -1ms")
}

func TestSteadyWatch(t *testing.T) {
	var h atomic.Uint64
	w := watchSteady(h.Load, 1000)
	h.Store(50) // before 10 %: not counted
	h.Store(100)
	require.Eventually(t, func() bool { w.mu.Lock(); defer w.mu.Unlock(); return w.reached10 }, time.Second, time.Millisecond)
	h.Store(950)
	require.Eventually(t, func() bool { w.mu.Lock(); defer w.mu.Unlock(); return w.reached90 }, time.Second, time.Millisecond)
	rate := w.Stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	require.Equal(t, uint64(100), w.h10)
	require.Equal(t, uint64(950), w.h90)
	require.InDelta(t, 850/w.t90.Sub(w.t10).Seconds(), rate, 1e-9)

	// A catch-up that ends before both marks reports 0.
	require.Zero(t, watchSteady(func() uint64 { return 0 }, 1000).Stop())
	// Stop looks once more: a catch-up that ended since the last tick counts.
	var last atomic.Uint64
	w = watchSteady(last.Load, 1000)
	last.Store(100)
	require.Eventually(t, func() bool { w.mu.Lock(); defer w.mu.Unlock(); return w.reached10 }, time.Second, time.Millisecond)
	last.Store(1000)
	require.Positive(t, w.Stop())
}

func TestFormatRTTs(t *testing.T) {
	require.Equal(t, "0", formatRTTs(nil))
	require.Equal(t, "20,100,0.5", formatRTTs([]time.Duration{20 * time.Millisecond, 100 * time.Millisecond, 500 * time.Microsecond}))
}

// Every topology, and churn, works end to end on a few nodes, and the
// line keeps the format scripts parse.
func TestGossipSmoke(t *testing.T) {
	requireProcStats(t)
	for _, tc := range []struct {
		name string
		o    GossipOptions
		line string
	}{
		{"line by default", GossipOptions{Nodes: 3, BlockTime: 50 * time.Millisecond, Blocks: 10}, `^gossip nodes=3 topology=line churn=0 block_time=50ms `},
		{"star", GossipOptions{Nodes: 4, BlockTime: 50 * time.Millisecond, Blocks: 10, Topology: TopologyStar}, `^gossip nodes=4 topology=star churn=0 block_time=50ms `},
		{"random", GossipOptions{Nodes: 5, BlockTime: 50 * time.Millisecond, Blocks: 10, Topology: TopologyRandom, Seed: 7}, `^gossip nodes=5 topology=random churn=0 block_time=50ms `},
		// Two of the four nodes replaced, at a third and two thirds of 1 s.
		{"random with churn", GossipOptions{Nodes: 5, BlockTime: 50 * time.Millisecond, Blocks: 20, Topology: TopologyRandom, Churn: 0.5}, `^gossip nodes=5 topology=random churn=0.5 block_time=50ms `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var profile bytes.Buffer
			tc.o.CPUProfile = &profile
			res, err := Gossip(context.Background(), tc.o)
			require.NoError(t, err)
			t.Log(res)
			require.Zero(t, res.Missed, "%s", res)
			require.Positive(t, res.Max)
			require.LessOrEqual(t, res.P50, res.P99)
			require.LessOrEqual(t, res.P99, res.Max)
			require.Positive(t, res.CPUCores)
			require.Positive(t, res.RSSMiB)
			require.Positive(t, profile.Len(), "a CPU profile of the publishing phase")
			require.Regexp(t, tc.line+`p50_ms=\d+\.\d\d p99_ms=\d+\.\d\d max_ms=\d+\.\d\d missed=0 cpu_cores=\d+\.\d\d rss_mb_per_node=\d+\.\d$`, res.String())

			replaced := churnCount(tc.o.Nodes-1, tc.o.Churn)
			require.Len(t, res.PerNode, tc.o.Nodes-1+replaced)
			var stopped, fresh int
			for i, n := range res.PerNode {
				require.Zero(t, n.Missed, "node %d", i+1)
				switch {
				case n.Stopped:
					stopped++
				case n.Fresh:
					fresh++
					require.GreaterOrEqual(t, i, tc.o.Nodes-1, "fresh nodes come last")
					require.Positive(t, n.Counted, "fresh node %d joined a third of the phase before its end, and counts", i+1)
				default:
					require.Equal(t, tc.o.Blocks, n.Counted, "node %d ran the whole phase", i+1)
				}
			}
			require.Equal(t, replaced, stopped)
			require.Equal(t, replaced, fresh)
		})
	}
}

// Options the benchmark cannot run are refused before anything starts.
func TestGossipOptionsValidation(t *testing.T) {
	for _, tc := range []struct {
		o    GossipOptions
		want string
	}{
		{GossipOptions{Nodes: 1}, "expected at least 2 nodes"},
		{GossipOptions{Topology: "ring"}, `topology "ring": expected line, star or random`},
		{GossipOptions{Churn: 1}, "churn 1: expected a fraction from 0 to below 1"},
		{GossipOptions{Churn: -0.1}, "churn -0.1: expected"},
		{GossipOptions{Churn: math.NaN()}, "churn NaN: expected"},
	} {
		_, err := Gossip(context.Background(), tc.o)
		require.ErrorContains(t, err, tc.want)
	}
}

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p50, p99, maxD := percentiles(ds)
	require.Equal(t, 51*time.Millisecond, p50)
	require.Equal(t, 100*time.Millisecond, p99)
	require.Equal(t, 100*time.Millisecond, maxD)
	p50, p99, maxD = percentiles(nil)
	require.Zero(t, p50+p99+maxD)
}

// A young chain — its headers a few block times old — is caught up without
// waiting for the syncer's next head refresh: the fresh node asks its
// peers for their head as soon as its syncer runs. Waiting, 50 headers took
// over a second (rate=50).
func TestCatchupYoungChainDoesNotWait(t *testing.T) {
	res, err := Catchup(context.Background(), CatchupOptions{Headers: 50, Peers: 1, Store: "memory", Dir: t.TempDir()})
	require.NoError(t, err)
	require.Less(t, res.Elapsed, 700*time.Millisecond, "%s", res)
	t.Log(res)
}
