package exserver

import (
	"context"
	"testing"

	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// TestMetrics reads the server's counters through OpenTelemetry, as the
// node's /metrics does.
func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	prev := otel.GetMeterProvider()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	t.Cleanup(func() { otel.SetMeterProvider(prev) })

	srvHost, client := newHost(t), newHost(t)
	connect(t, client, srvHost)
	srv := startServer(t, srvHost, chainID, FromHeaderStore(newHeaderStore(t, makeChain(t, 20))),
		WithLimits(Limits{Concurrent: 8, PerPeerConcurrent: 8, PerPeerRate: 1e-6, PerPeerBurst: 2}))
	req := encodeRequest(t, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: 1}, Amount: 10})
	require.False(t, ask(t, client, srvHost.ID(), ProtocolID(chainID), req, false).reset)
	require.True(t, ask(t, client, srvHost.ID(), ProtocolID(chainID), []byte{0}, false).reset) // no origin, no hash
	require.True(t, ask(t, client, srvHost.ID(), ProtocolID(chainID), req, false).reset)       // over the rate
	eventually(t, func() bool { return srv.Served() == 1 && srv.failed.Load() == 1 }, "the answers to be counted")

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					got[m.Name] += dp.Value
				}
			}
		}
	}
	require.Equal(t, map[string]int64{
		"exserver_requests_served":  1,
		"exserver_requests_reset":   1,
		"exserver_requests_refused": 1,
		"exserver_headers_sent":     10,
	}, got)

	// Once stopped, the server no longer reports.
	require.NoError(t, srv.Stop(context.Background()))
	rm = metricdata.ResourceMetrics{}
	require.NoError(t, reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				require.Empty(t, sum.DataPoints, m.Name)
			}
		}
	}
}
