package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/headersync/headersync/internal/chaingen"
)

// churner replaces nodes during the publishing phase, on a goroutine of its
// own so that starting a node never delays a publish: at each of the
// churnOffsets it stops one of the nodes started before the phase (drawn
// at random, each at most once) and starts a fresh one, with a new key
// and an empty store, seeded by a random live node.
type churner struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error // of the goroutine; read after done
	// fresh are the nodes it started, in start order; read after done.
	fresh []*gossipNode
}

// startChurn starts replacing nodes of live (sequencer first, never
// stopped) at start plus each offset; walk starts a fresh node's walk.
func startChurn(ctx context.Context, gen *chaingen.Generator, o GossipOptions, rng *rand.Rand, start time.Time, live []*gossipNode, walk func(*gossipNode)) *churner {
	ctx, cancel := context.WithCancel(ctx)
	c := &churner{cancel: cancel, done: make(chan struct{})}
	offsets := churnOffsets(churnCount(len(live)-1, o.Churn), time.Duration(o.Blocks)*o.BlockTime)
	victims := make([]*gossipNode, len(offsets))
	for k, i := range rng.Perm(len(live) - 1)[:len(offsets)] {
		victims[k] = live[1+i]
	}
	live = slices.Clone(live)
	go func() {
		defer close(c.done)
		for k, off := range offsets {
			due := time.NewTimer(time.Until(start.Add(off)))
			select {
			case <-ctx.Done():
				due.Stop()
				return
			case <-due.C:
			}
			n, err := c.replace(ctx, gen, o, rng, victims[k], &live)
			if err != nil {
				c.err = fmt.Errorf("churn %d of %d: %w", k+1, len(offsets), err)
				return
			}
			walk(n)
		}
	}()
	return c
}

// replace stops victim, removes it from live, and starts a fresh node
// seeded by a random node still live.
func (c *churner) replace(ctx context.Context, gen *chaingen.Generator, o GossipOptions, rng *rand.Rand, victim *gossipNode, live *[]*gossipNode) (*gossipNode, error) {
	victim.stopped = true
	*live = slices.DeleteFunc(*live, func(n *gossipNode) bool { return n == victim })
	if err := victim.stop(); err != nil {
		return nil, fmt.Errorf("stop a node: %w", err)
	}
	seed := (*live)[rng.IntN(len(*live))]
	joined := time.Now()
	n, err := startGossipNode(ctx, gen, o, []string{seed.addr}, false)
	if err != nil {
		return nil, fmt.Errorf("start a fresh node: %w", err)
	}
	n.fresh, n.joined = true, joined
	c.fresh = append(c.fresh, n)
	*live = append(*live, n)
	return n, nil
}

// wait waits until every replacement is done and returns the first error.
func (c *churner) wait() error {
	<-c.done
	return c.err
}

// stop ends the replacements and stops the fresh nodes, newest first.
func (c *churner) stop() error {
	c.cancel()
	<-c.done
	var errs []error
	for i := len(c.fresh) - 1; i >= 0; i-- {
		errs = append(errs, c.fresh[i].stop())
	}
	return errors.Join(errs...)
}
