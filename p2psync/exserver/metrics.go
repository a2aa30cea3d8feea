package exserver

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// registerMetrics reports the server's counters through OpenTelemetry's
// global meter provider, as go-header's components do, read at collection
// time so that serving costs no more than an atomic add.
func (s *Server) registerMetrics() (metric.Registration, error) {
	m := otel.Meter("github.com/headersync/headersync/p2psync/exserver")
	counter := func(name, desc string) (metric.Int64ObservableCounter, error) {
		c, err := m.Int64ObservableCounter(name, metric.WithDescription(desc))
		if err != nil {
			return nil, fmt.Errorf("create counter %s: %w", name, err)
		}
		return c, nil
	}
	served, err := counter("exserver_requests_served", "Exchange requests answered (OK or NOT_FOUND).")
	if err != nil {
		return nil, err
	}
	failed, err := counter("exserver_requests_reset", "Exchange requests admitted and then reset (bad request, store or write error).")
	if err != nil {
		return nil, err
	}
	refused, err := counter("exserver_requests_refused", "Exchange requests refused by the per-peer and total limits.")
	if err != nil {
		return nil, err
	}
	headers, err := counter("exserver_headers_sent", "Headers sent by the exchange server.")
	if err != nil {
		return nil, err
	}
	attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("protocol", string(s.proto))))
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(served, int64(s.served.Load()), attrs)
		o.ObserveInt64(failed, int64(s.failed.Load()), attrs)
		o.ObserveInt64(refused, int64(s.lim.refused.Load()), attrs)
		o.ObserveInt64(headers, int64(s.headers.Load()), attrs)
		return nil
	}, served, failed, refused, headers)
	if err != nil {
		return nil, fmt.Errorf("register metrics callback: %w", err)
	}
	return reg, nil
}
