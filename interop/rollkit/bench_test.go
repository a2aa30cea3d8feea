package rollkit

import (
	"testing"
	"time"
)

// benchHeaders is the length of the chain each benchmark op catches up on.
const benchHeaders = 20000

// BenchmarkHeadersyncFromRollkit: one op is a fresh headersync light node
// (rollkit format) catching up on benchHeaders headers from a rollkit
// v0.13.7 node, timed from `headersync start` to the API reporting the head
// (polled every 50 ms).
func BenchmarkHeadersyncFromRollkit(b *testing.B) {
	c, seq := benchSource(b)

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		hs := initHeadersync(b, hsOptions{role: "light", genesis: c.genesisFile, seeds: []string{seq.addr}, name: "light"})
		b.StartTimer()
		hs.start(b)
		hs.waitHeight(b, benchHeaders, 5*time.Minute)
		b.StopTimer()
		hs.stop(b)
	}
	b.ReportMetric(float64(benchHeaders)*float64(b.N)/b.Elapsed().Seconds(), "headers/s")
}

// BenchmarkRollkitFromHeadersync: one op is a fresh rollkit v0.13.7
// non-aggregator node, whose only seed is a headersync light node, catching
// up on benchHeaders headers from it, timed from the start of its p2p client
// to its header store's height reaching the head.
func BenchmarkRollkitFromHeadersync(b *testing.B) {
	c, seq, hs := syncedLight(b, benchHeaders)
	seq.stop()
	benchRollkitFollowers(b, c, hs.p2pAddr)
}

// BenchmarkRollkitFromRollkit is the baseline: the same catch-up as
// BenchmarkRollkitFromHeadersync with a rollkit node serving.
func BenchmarkRollkitFromRollkit(b *testing.B) {
	c, seq := benchSource(b)
	benchRollkitFollowers(b, c, seq.addr)
}

// benchSource is a rollkit broadcaster holding a chain of benchHeaders.
func benchSource(b *testing.B) (*chain, *rkNode) {
	c := newChain(b)
	c.extend(b, benchHeaders, time.Now())
	seq := startRollkit(b, rkOptions{aggregator: true, genesis: c.genesis, name: "sequencer"})
	seq.publish(b, c, 1, benchHeaders)
	return c, seq
}

// benchRollkitFollowers times b.N fresh rollkit nodes catching up on c
// from seed, and reports headers/s.
func benchRollkitFollowers(b *testing.B, c *chain, seed string) {
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		follower := startRollkit(b, rkOptions{genesis: c.genesis, seeds: []string{seed}, name: "follower"})
		follower.waitHeight(b, benchHeaders, 5*time.Minute)
		b.StopTimer()
		follower.stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(benchHeaders)*float64(b.N)/b.Elapsed().Seconds(), "headers/s")
}
