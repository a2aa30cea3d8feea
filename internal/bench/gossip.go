package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
)

// GossipOptions describe a gossip-latency benchmark.
type GossipOptions struct {
	Nodes     int           // including the sequencer; default 10
	BlockTime time.Duration // between published headers; default 100ms
	Blocks    int           // headers measured; default 100
	// Topology is who seeds each node: TopologyLine (the default),
	// TopologyStar or TopologyRandom.
	Topology string
	// Churn is the fraction of the non-sequencer nodes (rounded) stopped
	// during the publishing phase, at even intervals, each replaced by a
	// fresh node seeded by a random live one; 0 <= Churn < 1.
	Churn float64
	// Seed seeds every random choice (random seeds, which nodes churn,
	// the fresh nodes' seeds): the same seed makes the same choices.
	Seed uint64
	// CPUProfile, if set, receives a CPU profile of the publishing phase.
	CPUProfile io.Writer
	Logger     *slog.Logger
}

// GossipResult are the delays from publish to arrival in a node's store,
// over every (node, header) pair counted (see NodeTally), and what the
// process spent during the publishing phase.
type GossipResult struct {
	Nodes         int
	Topology      string
	Churn         float64
	BlockTime     time.Duration
	P50, P99, Max time.Duration
	Missed        int // counted pairs that never arrived
	// CPUCores is the process's CPU time (user and system) over the wall
	// time of the publishing phase; RSSMiB its resident memory at the end.
	CPUCores float64
	RSSMiB   float64
	// PerNode has one tally per node that ran, sequencer excluded, in
	// start order: the nodes started first, then the fresh ones.
	PerNode []NodeTally
}

// RSSMiBPerNode is the process's resident memory over the nodes.
func (r GossipResult) RSSMiBPerNode() float64 { return r.RSSMiB / float64(r.Nodes) }

func (r GossipResult) String() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("gossip nodes=%d topology=%s churn=%s block_time=%s p50_ms=%s p99_ms=%s max_ms=%s missed=%d cpu_cores=%.2f rss_mb_per_node=%.1f",
		r.Nodes, r.Topology, strconv.FormatFloat(r.Churn, 'g', -1, 64), r.BlockTime, ms(r.P50), ms(r.P99), ms(r.Max), r.Missed,
		r.CPUCores, r.RSSMiBPerNode())
}

// The warm-up publishes headers one block time apart, at least
// warmupHeaders of them and for at least warmupTime, and every node must
// have them before any delay is measured. It covers the network's start:
// the nodes initialise, discovery's first lookups connect them, and
// gossipsub's first heartbeats (one a second) build the mesh. Measured from
// 0.5 s after a hundred nodes started at once, the first second of
// publishing still found most of them outside any mesh, catching up
// through the exchange: that is the network starting, not the cost of
// running it. Published in a burst, the warm-up headers once left every
// node taking the first measured header one block time late at 50 ms
// blocks.
const (
	warmupHeaders = 5
	warmupTime    = 3 * time.Second
)

// warmupCount is how many headers the warm-up publishes at blockTime.
func warmupCount(blockTime time.Duration) int {
	return max(warmupHeaders, int((warmupTime+blockTime-1)/blockTime))
}

func (o *GossipOptions) defaults() error {
	if o.Nodes == 0 {
		o.Nodes = 10
	}
	if o.BlockTime == 0 {
		o.BlockTime = 100 * time.Millisecond
	}
	if o.Blocks == 0 {
		o.Blocks = 100
	}
	if o.Topology == "" {
		o.Topology = TopologyLine
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.Nodes < 2 || o.Blocks < 1 || o.BlockTime <= 0:
		return fmt.Errorf("nodes %d, blocks %d, block time %s: expected at least 2 nodes, 1 block and a positive block time", o.Nodes, o.Blocks, o.BlockTime)
	case !slices.Contains(Topologies, o.Topology):
		return fmt.Errorf("topology %q: expected line, star or random", o.Topology)
	case !(o.Churn >= 0 && o.Churn < 1): // NaN too
		return fmt.Errorf("churn %v: expected a fraction from 0 to below 1", o.Churn)
	}
	return nil
}

// Gossip starts a sequencer and o.Nodes-1 nodes on 127.0.0.1, each seeded
// as o.Topology says, publishes o.Blocks headers one block time apart
// (replacing nodes as o.Churn says) and records when each reaches each
// node's store. It measures the process's CPU time and resident memory
// from getrusage and /proc, so it runs on Linux only.
func Gossip(ctx context.Context, o GossipOptions) (GossipResult, error) {
	if err := o.defaults(); err != nil {
		return GossipResult{}, err
	}
	res := GossipResult{Nodes: o.Nodes, Topology: o.Topology, Churn: o.Churn, BlockTime: o.BlockTime}
	// Fail before starting anything where the figures cannot be had.
	if _, err := processCPUTime(); err != nil {
		return res, err
	}
	if _, err := processRSS(); err != nil {
		return res, err
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0))

	gen, err := chaingen.New(benchChainID, 0, chaingen.Options{Start: time.Now()})
	if err != nil {
		return res, fmt.Errorf("chain generator: %w", err)
	}
	// all holds the nodes started before the publishing phase, in start
	// order, the sequencer first; churn's fresh nodes are churn.fresh.
	var all []*gossipNode
	defer func() {
		for i := len(all) - 1; i >= 0; i-- {
			_ = all[i].stop() // teardown of a finished benchmark
		}
	}()
	for i := 0; i < o.Nodes; i++ {
		var seeds []string
		if i > 0 {
			for _, s := range seedsFor(o.Topology, i, rng) {
				seeds = append(seeds, all[s].addr)
			}
		}
		n, err := startGossipNode(ctx, gen, o, seeds, i == 0)
		if err != nil {
			return res, fmt.Errorf("start node %d: %w", i, err)
		}
		all = append(all, n)
	}
	seq := all[0].seq

	// publish signs a header stamped now, as a sequencer does, and times
	// the publish from after the signing.
	var head *types.SignedHeader
	publish := func() (time.Time, error) {
		data := types.Data{}
		var h types.Header
		if head == nil {
			h = types.FirstHeader(gen.Genesis, time.Now(), &data)
		} else {
			h = types.NextHeader(head, time.Now(), &data)
		}
		sh, err := gen.Signer.Sign(h)
		if err != nil {
			return time.Time{}, fmt.Errorf("sign header %d: %w", h.Height, err)
		}
		head = sh
		at := time.Now()
		err = seq.Publish(ctx, sh)
		if errors.Is(err, p2psync.ErrBroadcastFailed) {
			err = nil // stored: peers fetch it; the delay shows it
		}
		if err != nil {
			return at, fmt.Errorf("publish header %d: %w", sh.Height(), err)
		}
		return at, nil
	}
	tick := time.NewTicker(o.BlockTime)
	defer tick.Stop()
	next := func() error {
		select {
		case <-tick.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	warmup := warmupCount(o.BlockTime)
	for i := 0; i < warmup; i++ {
		if err := next(); err != nil {
			return res, err
		}
		if _, err := publish(); err != nil {
			return res, fmt.Errorf("warm-up: %w", err)
		}
	}
	warmCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for i, n := range all[1:] {
		if _, err := n.svc.WaitHeight(warmCtx, uint64(warmup)); err != nil {
			return res, fmt.Errorf("warm-up: node %d never reached height %d: %w", i+1, warmup, err)
		}
	}

	// Record arrivals, one walk per node.
	first, last := uint64(warmup+1), uint64(warmup+o.Blocks)
	waitCtx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	var walks sync.WaitGroup
	for _, n := range all[1:] {
		n.walk(waitCtx, first, last, &walks)
	}

	// The publishing phase: sampled for CPU time, and profiled.
	cpuBefore, err := processCPUTime()
	if err != nil {
		return res, err
	}
	if o.CPUProfile != nil {
		if err := pprof.StartCPUProfile(o.CPUProfile); err != nil {
			return res, fmt.Errorf("cpu profile: %w", err)
		}
	}
	profiling := o.CPUProfile != nil
	defer func() {
		if profiling {
			pprof.StopCPUProfile()
		}
	}()
	start := time.Now()
	tick.Reset(o.BlockTime) // the first measured header one block time from start
	churn := startChurn(ctx, gen, o, rng, start, all, func(n *gossipNode) { n.walk(waitCtx, first, last, &walks) })
	defer func() { _ = churn.stop() }() // teardown, before that of the nodes started first

	published := make([]time.Time, o.Blocks)
	for i := 0; i < o.Blocks; i++ {
		if err := next(); err != nil {
			return res, err
		}
		at, err := publish()
		if err != nil {
			return res, err
		}
		published[i] = at
	}
	tick.Stop()
	if err := churn.wait(); err != nil {
		return res, err
	}
	cpuAfter, err := processCPUTime()
	if err != nil {
		return res, err
	}
	wall := time.Since(start)
	rss, err := processRSS()
	if err != nil {
		return res, err
	}
	if profiling {
		pprof.StopCPUProfile()
		profiling = false
	}
	res.CPUCores = float64(cpuAfter-cpuBefore) / float64(wall)
	res.RSSMiB = float64(rss) / (1 << 20)

	// Give stragglers a generous deadline, then count what never came.
	grace := time.NewTimer(max(5*time.Second, 20*o.BlockTime))
	allDone := make(chan struct{})
	go func() { walks.Wait(); close(allDone) }()
	select {
	case <-allDone:
	case <-grace.C:
		stopWaiting()
		<-allDone
	}
	grace.Stop()

	var delays []time.Duration
	for _, n := range append(slices.Clone(all[1:]), churn.fresh...) {
		d, t := n.tally(published)
		delays = append(delays, d...)
		res.Missed += t.Missed
		res.PerNode = append(res.PerNode, t)
	}
	res.P50, res.P99, res.Max = percentiles(delays)
	return res, nil
}

// percentiles returns the median, 99th percentile and maximum.
func percentiles(ds []time.Duration) (p50, p99, maxD time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return at(0.50), at(0.99), ds[len(ds)-1]
}
