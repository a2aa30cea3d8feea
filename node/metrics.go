package node

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// go-header reports its metrics through OpenTelemetry's global meter
// provider, which is process-wide. processMetrics installs, once per
// process, a provider that exports them, with the Go runtime's, to a
// Prometheus registry every node's /metrics includes.
var (
	processOnce     sync.Once
	processRegistry *prometheus.Registry
	processErr      error
)

func processMetrics() (prometheus.Gatherer, error) {
	processOnce.Do(func() {
		reg := prometheus.NewRegistry()
		if err := reg.Register(collectors.NewGoCollector()); err != nil {
			processErr = fmt.Errorf("register Go collector: %w", err)
			return
		}
		if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
			processErr = fmt.Errorf("register process collector: %w", err)
			return
		}
		exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
		if err != nil {
			processErr = fmt.Errorf("create OpenTelemetry Prometheus exporter: %w", err)
			return
		}
		otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter)))
		processRegistry = reg
	})
	return processRegistry, processErr
}

// nodeMetrics registers the node's own metrics, read from its components at
// scrape time, in a registry of its own (devnet runs several nodes in one
// process).
func (n *Node) nodeMetrics() (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, labels prometheus.Labels, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "headersync", Name: name, Help: help, ConstLabels: labels}, f)
	}
	counter := func(name, help string, labels prometheus.Labels, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "headersync", Name: name, Help: help, ConstLabels: labels}, f)
	}
	cs := []prometheus.Collector{
		gauge("peers", "Connected libp2p peers.", nil, func() float64 { return float64(len(n.p2p.PeerIDs())) }),
	}
	type svc struct {
		kind    string
		base    func() uint64
		height  func() uint64
		counts  func() (accepted, ignored, rejected uint64)
		refused func() uint64
	}
	svcs := []svc{{"header", n.headers.Base, n.headers.Height, n.headers.GossipCounts, n.headers.RequestsRefused}}
	if n.blocks != nil {
		svcs = append(svcs, svc{"block", n.blocks.Base, n.blocks.Height, n.blocks.GossipCounts, n.blocks.RequestsRefused})
	}
	for _, s := range svcs {
		l := prometheus.Labels{"service": s.kind}
		cs = append(cs,
			gauge("store_base", "Lowest stored height: every height from it to store_height is stored.", l, func() float64 { return float64(s.base()) }),
			gauge("store_height", "Height of the stored head.", l, func() float64 { return float64(s.height()) }),
			counter("gossip_accepted_total", "Gossiped headers accepted.", l, func() float64 { a, _, _ := s.counts(); return float64(a) }),
			counter("gossip_ignored_total", "Gossiped headers ignored (late or not yet checkable).", l, func() float64 { _, i, _ := s.counts(); return float64(i) }),
			counter("gossip_rejected_total", "Gossiped headers rejected as invalid.", l, func() float64 { _, _, r := s.counts(); return float64(r) }),
			counter("exchange_refused_total", "Exchange requests refused by the per-peer and total limits.", l, func() float64 { return float64(s.refused()) }),
		)
	}
	if n.checker != nil {
		cs = append(cs,
			gauge("crosscheck_height", "Highest height whose block was checked against its header.", nil, func() float64 { return float64(n.checker.checked.Load()) }),
			counter("crosscheck_mismatches_total", "Blocks that differ from the header synced at their height.", nil, func() float64 { return float64(n.checker.mismatches.Load()) }),
		)
	}
	if n.producer != nil {
		cs = append(cs,
			counter("blocks_produced_total", "Blocks this sequencer produced since start.", nil, func() float64 { return float64(n.producer.produced.Load()) }),
			gauge("pending_txs", "Transactions waiting for a block.", nil, func() float64 { return float64(n.producer.pool.len()) }),
		)
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metric: %w", err)
		}
	}
	return reg, nil
}
