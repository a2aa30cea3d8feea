package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/types"
)

// GossipOptions describe a gossip-latency benchmark.
type GossipOptions struct {
	Nodes     int           // including the sequencer; default 10
	BlockTime time.Duration // between published headers; default 100ms
	Blocks    int           // headers measured; default 100
	Logger    *slog.Logger
}

// GossipResult are the delays from publish to arrival in a node's store,
// over every (node, header) pair.
type GossipResult struct {
	Nodes         int
	BlockTime     time.Duration
	P50, P99, Max time.Duration
	Missed        int // pairs that never arrived
}

func (r GossipResult) String() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("gossip nodes=%d block_time=%s p50_ms=%s p99_ms=%s max_ms=%s missed=%d",
		r.Nodes, r.BlockTime, ms(r.P50), ms(r.P99), ms(r.Max), r.Missed)
}

// warmup headers are published, and must reach every node, before any
// delay is measured: they let the gossip mesh form and the nodes initialise.
const warmup = 5

// Gossip starts a sequencer and o.Nodes-1 nodes on 127.0.0.1 in a line
// (each seeded by the one before), publishes o.Blocks headers one block time
// apart and records when each reaches each node's store.
func Gossip(ctx context.Context, o GossipOptions) (GossipResult, error) {
	if o.Nodes == 0 {
		o.Nodes = 10
	}
	if o.BlockTime == 0 {
		o.BlockTime = 100 * time.Millisecond
	}
	if o.Blocks == 0 {
		o.Blocks = 100
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Nodes < 2 || o.Blocks < 1 || o.BlockTime <= 0 {
		return GossipResult{}, fmt.Errorf("nodes %d, blocks %d, block time %s: expected at least 2 nodes, 1 block and a positive block time", o.Nodes, o.Blocks, o.BlockTime)
	}
	res := GossipResult{Nodes: o.Nodes, BlockTime: o.BlockTime}

	gen, err := chaingen.New(benchChainID, 0, chaingen.Options{Start: time.Now()})
	if err != nil {
		return res, err
	}
	var stops []func() error
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			_ = stops[i]() // teardown of a finished benchmark
		}
	}()
	var (
		services []*p2psync.Service[*types.SignedHeader]
		seq      *p2psync.Sequencer[*types.SignedHeader]
		prevAddr []string
	)
	for i := 0; i < o.Nodes; i++ {
		client, err := startClient(ctx, prevAddr, o.Logger, false)
		if err != nil {
			return res, err
		}
		stops = append(stops, func() error { return client.Stop(context.Background()) })
		cfg := p2psync.Config{Kind: p2psync.Headers, Genesis: gen.Genesis, BlockTime: o.BlockTime, Logger: o.Logger}
		ds := store.Memory()
		stops = append(stops, ds.Close)
		var svc *p2psync.Service[*types.SignedHeader]
		if i == 0 {
			seq, err = p2psync.NewSequencer[*types.SignedHeader](cfg, client, ds)
			if seq != nil {
				svc = seq.Service
			}
		} else {
			svc, err = p2psync.New[*types.SignedHeader](cfg, client, ds)
		}
		if err != nil {
			return res, err
		}
		if err := svc.Start(ctx); err != nil {
			return res, err
		}
		stops = append(stops, func() error { return svc.Stop(context.Background()) })
		services = append(services, svc)
		prevAddr = []string{client.Addrs()[0].String()}
	}
	nodes := services[1:]

	// publish signs a header stamped now, as a sequencer does, and times
	// the publish from after the signing.
	var head *types.SignedHeader
	publish := func() (uint64, time.Time, error) {
		data := types.Data{}
		var h types.Header
		if head == nil {
			h = types.FirstHeader(gen.Genesis, time.Now(), &data)
		} else {
			h = types.NextHeader(head, time.Now(), &data)
		}
		sh, err := gen.Signer.Sign(h)
		if err != nil {
			return 0, time.Time{}, err
		}
		head = sh
		at := time.Now()
		err = seq.Publish(ctx, sh)
		if errors.Is(err, p2psync.ErrBroadcastFailed) {
			err = nil // stored: peers fetch it; the delay shows it
		}
		return sh.Height(), at, err
	}
	for i := 0; i < warmup; i++ {
		if _, _, err := publish(); err != nil {
			return res, err
		}
	}
	warmCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for _, n := range nodes {
		if _, err := n.WaitHeight(warmCtx, warmup); err != nil {
			return res, fmt.Errorf("warm-up: a node never reached height %d: %w", warmup, err)
		}
	}

	// Record arrivals, one goroutine per node walking the heights in order.
	first, last := uint64(warmup+1), uint64(warmup+o.Blocks)
	arrivals := make([][]time.Time, len(nodes))
	waitCtx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	var wg sync.WaitGroup
	for i, n := range nodes {
		arrivals[i] = make([]time.Time, o.Blocks)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := first; h <= last; h++ {
				if _, err := n.WaitHeight(waitCtx, h); err != nil {
					return
				}
				arrivals[i][h-first] = time.Now()
			}
		}()
	}

	published := make([]time.Time, o.Blocks)
	t := time.NewTicker(o.BlockTime)
	for i := 0; i < o.Blocks; i++ {
		<-t.C
		_, at, err := publish()
		if err != nil {
			t.Stop()
			return res, err
		}
		published[i] = at
	}
	t.Stop()

	// Give stragglers a generous deadline, then count what never came.
	grace := time.NewTimer(max(5*time.Second, 20*o.BlockTime))
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	select {
	case <-allDone:
	case <-grace.C:
		stopWaiting()
		<-allDone
	}
	grace.Stop()

	var delays []time.Duration
	for i := range nodes {
		for j, at := range arrivals[i] {
			if at.IsZero() {
				res.Missed++
				continue
			}
			delays = append(delays, at.Sub(published[j]))
		}
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
