package p2psync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/headersync/headersync/p2psync/exserver"
)

// Limits bound what the exchange server serves (see exserver.Limits).
type Limits = exserver.Limits

// DefaultLimits serve an honest catch-up at full speed and cap a flood.
func DefaultLimits() Limits { return exserver.DefaultLimits() }

// exchangeServer answers peers from the store once it has a head: before
// that there is nothing to serve. Starting it again is a no-op.
type exchangeServer struct {
	*exserver.Server
}

func newExchangeServer(h host.Host, st exserver.Store, proto protocol.ID, lim Limits, log *slog.Logger) (*exchangeServer, error) {
	srv, err := exserver.New(h, proto, st, exserver.WithLimits(lim), exserver.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("create exchange server: %w", err)
	}
	return &exchangeServer{Server: srv}, nil
}

// start starts answering peers; a no-op once started.
func (s *exchangeServer) start(ctx context.Context) error {
	if err := s.Start(ctx); err != nil && !errors.Is(err, exserver.ErrStarted) {
		return fmt.Errorf("start exchange server: %w", err)
	}
	return nil
}

// refused counts the requests the limits refused.
func (s *exchangeServer) refused() uint64 { return s.Refused() }
