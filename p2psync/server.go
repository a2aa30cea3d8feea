package p2psync

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/celestiaorg/go-header"
	hp2p "github.com/celestiaorg/go-header/p2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/headersync/headersync/internal/every"
	"github.com/headersync/headersync/p2psync/peers"
)

// requestReadDeadline bounds how long the server waits for a request: a
// stream that sends nothing holds one of the limited slots.
const requestReadDeadline = 5 * time.Second

// exchangeServer answers peers' exchange requests from the store, behind
// the request limiter. It starts once the store has a head: before that
// there is nothing to serve, and go-header's store must not be asked for
// its head while Init is writing it (Head would read a head Init has
// flushed but not yet published and move the store's height, and Init then
// aborts the process: "headers given to the heightSub are in the wrong
// order").
type exchangeServer[H Header[H]] struct {
	server  *hp2p.ExchangeServer[H]
	limiter *requestLimiter

	mu      sync.Mutex
	serving bool
}

func newExchangeServer[H Header[H]](h host.Host, st header.Store[H], networkID string, lim Limits, work *inflight, log *slog.Logger) (*exchangeServer[H], error) {
	refusals := every.NewKeyed[peer.ID](time.Minute, peers.MaxTracked)
	var limiter *requestLimiter
	limiter = newRequestLimiter(lim, work, func(p peer.ID, why string) {
		if refusals.Allow(p) { // at most once a minute per peer
			log.Warn("refusing exchange requests from peer", "peer", p, "reason", why, "refused_total", limiter.refused.Load())
		}
	})
	server, err := hp2p.NewExchangeServer[H](limitedHost{Host: h, lim: limiter}, st,
		hp2p.WithNetworkID[hp2p.ServerParameters](networkID), hp2p.WithMetrics[hp2p.ServerParameters](),
		// A peer gets 5 s, not go-header's minute, to send its request.
		hp2p.WithReadDeadline[hp2p.ServerParameters](requestReadDeadline))
	if err != nil {
		return nil, fmt.Errorf("create exchange server: %w", err)
	}
	return &exchangeServer[H]{server: server, limiter: limiter}, nil
}

// start starts answering peers; a no-op once started.
func (s *exchangeServer[H]) start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serving {
		return nil
	}
	if err := s.server.Start(ctx); err != nil {
		return fmt.Errorf("start exchange server: %w", err)
	}
	s.serving = true
	return nil
}

// stop stops answering peers, if started.
func (s *exchangeServer[H]) stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.serving {
		return nil
	}
	s.serving = false
	return s.server.Stop(ctx)
}

// refused counts the requests the limits refused.
func (s *exchangeServer[H]) refused() uint64 { return s.limiter.refused.Load() }
