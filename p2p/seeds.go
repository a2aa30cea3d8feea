package p2p

import (
	"context"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"

	"github.com/headersync/headersync/internal/backoff"
)

const (
	// A seed is redialled after 1 s, doubling to 10 s: a node cut off by a
	// partition is back within seconds of the heal, and a handful of seeds
	// dialled every 10 s cost nothing.
	seedRetryMin = time.Second
	seedRetryMax = 10 * time.Second
	// dialTimeout bounds one connection attempt, seed or discovered peer.
	dialTimeout = 10 * time.Second
	// seedTag protects seed connections from the connection manager's
	// trimming: they are the node's way back into the network.
	seedTag = "headersync-seed"
)

// splitSeeds separates the seeds to dial from those the gating rules refuse.
// A seed that is the node itself is dropped: a shared seed list often names
// every node, including the one reading it.
func splitSeeds(seeds []peer.AddrInfo, self peer.ID, rules peerRules) (dial, gated []peer.AddrInfo) {
	for _, s := range seeds {
		switch {
		case s.ID == self:
		case !rules.permits(s.ID):
			gated = append(gated, s)
		default:
			dial = append(dial, s)
		}
	}
	return dial, gated
}

// failureLog decides how loudly to report consecutive failures of a retried
// action, so an unreachable peer is reported without flooding the log: the
// first failure and the one where the retry delay reaches its cap at Warn,
// the rest at Debug.
type failureLog struct {
	failures int
	capped   bool
}

// level records one more failure, after which the next attempt comes in
// delay, and returns the level to log it at.
func (f *failureLog) level(delay, maxDelay time.Duration) slog.Level {
	f.failures++
	reachedCap := delay >= maxDelay && !f.capped
	if delay >= maxDelay {
		f.capped = true
	}
	if f.failures == 1 || reachedCap {
		return slog.LevelWarn
	}
	return slog.LevelDebug
}

func (f *failureLog) reset() { *f = failureLog{} }

// watchSeeds wakes a seed's loop whenever a connection to that seed opens
// or closes. The callbacks run on the swarm's goroutines, so they only
// raise a signal.
func watchSeeds(wakes map[peer.ID]signal) *network.NotifyBundle {
	raise := func(_ network.Network, c network.Conn) {
		if s, ok := wakes[c.RemotePeer()]; ok {
			s.raise()
		}
	}
	return &network.NotifyBundle{ConnectedF: raise, DisconnectedF: raise}
}

// runSeed keeps the node connected to one seed until ctx is done: it dials
// while not connected, backing off exponentially, and waits for a
// disconnection while connected.
func (c *Client) runSeed(ctx context.Context, h host.Host, seed peer.AddrInfo, wake signal) {
	log := c.logger.With("seed", seed.ID)
	h.Peerstore().AddAddrs(seed.ID, seed.Addrs, peerstore.PermanentAddrTTL)
	h.ConnManager().Protect(seed.ID, seedTag)

	retry := backoff.New(seedRetryMin, seedRetryMax)
	var failures failureLog
	for ctx.Err() == nil {
		if h.Network().Connectedness(seed.ID) == network.Connected {
			// The seed may have dialled us, so this is a success too.
			retry.Reset()
			failures.reset()
			select {
			case <-ctx.Done():
				return
			case <-wake:
			}
			if h.Network().Connectedness(seed.ID) != network.Connected {
				log.Info("seed disconnected; redialling")
			}
			continue
		}

		err := dialSeed(ctx, h, seed)
		if err == nil {
			log.Info("connected to seed", "after_failures", failures.failures)
			retry.Reset()
			failures.reset()
			c.discoverySoon()
			continue
		}
		if ctx.Err() != nil {
			return
		}
		delay := retry.Next()
		level := failures.level(delay, seedRetryMax)
		log.Log(ctx, level, "seed unreachable; will retry",
			"addrs", seed.Addrs, "failures", failures.failures, "retry_in", delay, "err", err)
		if !waitForSeed(ctx, h, seed.ID, delay, wake) {
			return
		}
	}
}

func dialSeed(ctx context.Context, h host.Host, seed peer.AddrInfo) error {
	// The swarm keeps its own per-address dial backoff, growing to minutes;
	// our loop already paces seed dials, and a seed that has just come back
	// must not be refused for that long.
	if sw, ok := h.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(seed.ID)
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	return h.Connect(ctx, seed)
}

// waitForSeed sleeps for delay but returns early when the seed connects to
// us meanwhile. It reports false when ctx is done.
func waitForSeed(ctx context.Context, h host.Host, id peer.ID, delay time.Duration, wake signal) bool {
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-wake:
			if h.Network().Connectedness(id) == network.Connected {
				return true
			}
		}
	}
}
