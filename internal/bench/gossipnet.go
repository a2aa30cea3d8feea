package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/types"
)

// Topologies of the gossip benchmark: who seeds each node. Discovery may
// add links beyond the seeds in all of them.
const (
	// TopologyLine seeds each node by the one started before it.
	TopologyLine = "line"
	// TopologyStar seeds every node by the sequencer alone.
	TopologyStar = "star"
	// TopologyRandom seeds each node by up to randomSeeds distinct nodes
	// drawn from those started before it.
	TopologyRandom = "random"
)

// Topologies lists the valid GossipOptions.Topology values.
var Topologies = []string{TopologyLine, TopologyStar, TopologyRandom}

// randomSeeds is how many earlier nodes seed a node of the random topology.
const randomSeeds = 3

// seedsFor returns the indices of the nodes that seed node i (i >= 1;
// node 0 is the sequencer) in the given topology.
func seedsFor(topology string, i int, r *rand.Rand) []int {
	switch topology {
	case TopologyStar:
		return []int{0}
	case TopologyRandom:
		return r.Perm(i)[:min(randomSeeds, i)]
	default:
		return []int{i - 1}
	}
}

// churnCount is how many of nonSequencer nodes a churn fraction replaces.
func churnCount(nonSequencer int, churn float64) int {
	return int(math.Round(churn * float64(nonSequencer)))
}

// churnOffsets spreads n replacements evenly over a publishing phase of
// the given length: the k-th at (k+1)/(n+1) of it, so that none falls on
// its first or last header.
func churnOffsets(n int, phase time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for k := range out {
		out[k] = time.Duration(int64(phase) / int64(n+1) * int64(k+1))
	}
	return out
}

// gossipNode is one node of the gossip benchmark and the record of when
// each measured header reached its store.
type gossipNode struct {
	svc   *p2psync.Service[*types.SignedHeader]
	seq   *p2psync.Sequencer[*types.SignedHeader] // the sequencer's only
	addr  string
	stops []func() error // in start order

	// fresh: started during the publishing phase, at joined, to replace a
	// stopped node. stopped: stopped during it.
	fresh, stopped bool
	joined         time.Time

	// arrivals[j] is when measured header j was readable in the store; a
	// zero time, never (or not before the walk ended). Written by the walk
	// alone; read after walked is closed.
	arrivals   []time.Time
	cancelWalk context.CancelFunc
	walked     chan struct{}
}

// startGossipNode starts a node seeded by seeds: a sequencer if sequencer,
// else a follower with a new key and an empty memory store. On failure it
// stops what it started.
func startGossipNode(ctx context.Context, gen *chaingen.Generator, o GossipOptions, seeds []string, sequencer bool) (_ *gossipNode, err error) {
	n := &gossipNode{}
	defer func() {
		if err != nil {
			_ = n.stop() // the start's error is the one to report
		}
	}()
	client, err := startClient(ctx, seeds, o.Logger, false)
	if err != nil {
		return nil, fmt.Errorf("start p2p client: %w", err)
	}
	n.stops = append(n.stops, func() error { return client.Stop(context.Background()) })
	ds := store.Memory()
	n.stops = append(n.stops, ds.Close)
	cfg := p2psync.Config{Kind: p2psync.Headers, Genesis: gen.Genesis, BlockTime: o.BlockTime, Logger: o.Logger}
	if sequencer {
		n.seq, err = p2psync.NewSequencer[*types.SignedHeader](cfg, client, ds)
		if n.seq != nil {
			n.svc = n.seq.Service
		}
	} else {
		n.svc, err = p2psync.New[*types.SignedHeader](cfg, client, ds)
	}
	if err != nil {
		return nil, fmt.Errorf("new sync service: %w", err)
	}
	if err := n.svc.Start(ctx); err != nil {
		return nil, fmt.Errorf("start sync service: %w", err)
	}
	svc := n.svc
	n.stops = append(n.stops, func() error { return svc.Stop(context.Background()) })
	addrs := client.Addrs()
	if len(addrs) == 0 {
		return nil, errors.New("p2p client has no address")
	}
	n.addr = addrs[0].String()
	return n, nil
}

// walk records, on a goroutine it owns until ctx ends or the last height
// has arrived, when each height from first to last reaches the store,
// in order. wg is done when the walk ends.
func (n *gossipNode) walk(ctx context.Context, first, last uint64, wg *sync.WaitGroup) {
	n.arrivals = make([]time.Time, last-first+1)
	ctx, n.cancelWalk = context.WithCancel(ctx)
	n.walked = make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(n.walked)
		for h := first; h <= last; h++ {
			if _, err := n.svc.WaitHeight(ctx, h); err != nil {
				return
			}
			n.arrivals[h-first] = time.Now()
		}
	}()
}

// stop ends the walk, then stops what the node started, in reverse order.
// A second stop does nothing.
func (n *gossipNode) stop() error {
	if n.cancelWalk != nil {
		n.cancelWalk()
		<-n.walked
		n.cancelWalk = nil
	}
	var errs []error
	for i := len(n.stops) - 1; i >= 0; i-- {
		errs = append(errs, n.stops[i]())
	}
	n.stops = nil
	return errors.Join(errs...)
}

// NodeTally is what the gossip benchmark counted for one node.
type NodeTally struct {
	Fresh, Stopped bool
	// Counted is the measured headers this node is held to, arrived or
	// not; Missed those of them that never arrived.
	Counted, Missed int
}

// tally applies the counting rules to the node's arrivals of the headers
// published at published[j], and returns the delays it counts:
//   - a node that ran the whole phase is held to every header;
//   - a stopped node is held to none it lacks: what arrived before it
//     stopped counts, nothing is missed;
//   - a fresh node is held to the headers published after its first
//     arrival (the first measured header it stored, usually by catching
//     up); one that never stored any is held to every header published
//     after it joined, all missed.
func (n *gossipNode) tally(published []time.Time) ([]time.Duration, NodeTally) {
	t := NodeTally{Fresh: n.fresh, Stopped: n.stopped}
	from := time.Time{} // count headers published after this
	if n.fresh {
		from = n.joined
		for _, at := range n.arrivals {
			if !at.IsZero() {
				from = at
				break
			}
		}
	}
	var delays []time.Duration
	for j, at := range n.arrivals {
		if n.fresh && !published[j].After(from) {
			continue
		}
		switch {
		case !at.IsZero():
			t.Counted++
			delays = append(delays, at.Sub(published[j]))
		case !n.stopped:
			t.Counted++
			t.Missed++
		}
	}
	return delays, t
}
