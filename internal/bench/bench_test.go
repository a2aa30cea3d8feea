package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
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
	require.Regexp(t, `^catchup headers=3000 peers=2 store=pebble rate=\d+ verify_1core=\d+ verify_allcores=\d+ ratio_allcores=\d+\.\d\d verify_expanded_allcores=\d+ peak_heap_mb=\d+\.\d$`, res.String())

	_, err = Catchup(context.Background(), CatchupOptions{Headers: 10, Store: "disk"})
	require.ErrorContains(t, err, "--store")
}

func TestGossipSmoke(t *testing.T) {
	res, err := Gossip(context.Background(), GossipOptions{Nodes: 3, BlockTime: 50 * time.Millisecond, Blocks: 10})
	require.NoError(t, err)
	require.Zero(t, res.Missed)
	require.Positive(t, res.Max)
	require.LessOrEqual(t, res.P50, res.P99)
	require.LessOrEqual(t, res.P99, res.Max)
	require.Regexp(t, `^gossip nodes=3 block_time=50ms p50_ms=\d+\.\d\d p99_ms=\d+\.\d\d max_ms=\d+\.\d\d missed=0$`, res.String())
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
