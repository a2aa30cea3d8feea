// Package bench holds the whole-system benchmarks behind `headersync bench`
// and the Go benchmarks of the same name: how fast a fresh node catches up
// with a long chain, and how late gossip brings each new header (and what a
// network of nodes costs the process). Each reports its figures next to the
// physical limit measured in the same run.
package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/internal/netdelay"
	"github.com/headersync/headersync/internal/p2pconf"
	"github.com/headersync/headersync/p2p"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/types"
)

// CatchupOptions describe a catch-up benchmark.
type CatchupOptions struct {
	Headers int    // chain length; default 50 000
	Peers   int    // serving nodes; default 1
	Store   string // "memory" or "pebble" (default)
	// Dir holds the pebble stores; a temporary directory if empty.
	Dir string
	// CPUProfile, if set, receives a CPU profile of the catch-up alone.
	CPUProfile io.Writer
	// Progress, if set, receives a line per second during the catch-up.
	Progress io.Writer
	Logger   *slog.Logger
	// Tuning of the syncing node's service; zero fields take the defaults.
	RequestSize uint64
	// RTT puts a round trip between the syncing node and the serving nodes:
	// one value for all of them or one each. Any value above zero reaches
	// every serving node through a netdelay relay with half of it in each
	// direction; none or all zero connects them directly.
	RTT []time.Duration
}

// CatchupResult are the figures of one catch-up.
type CatchupResult struct {
	Headers, Peers int
	Store          string
	Elapsed        time.Duration
	Rate           float64 // headers per second
	Verify1Core    float64 // ed25519 verifications per second, one goroutine
	VerifyAllCores float64 // the same on every core
	// ExpandedAllCores is the all-core rate of the verifier the node uses
	// for single headers (ExpandedVerifyRate).
	ExpandedAllCores float64
	PeakHeapMiB      float64 // highest live heap during the catch-up
	RTT              []time.Duration
	// SteadyRate is the rate between 10 % and 90 % of the catch-up, without
	// the fixed round trips of its start (see steadyWatch).
	SteadyRate float64
	// RelayedConns and DirectConns count the syncing node's connections to
	// the serving nodes, through a relay and not, as the catch-up ended.
	RelayedConns, DirectConns int
	// RelayedBytes is what the relays carried, both directions together.
	RelayedBytes int64
	// DiskWritten is what the syncing node's database wrote to disk during
	// the catch-up (pebble's WAL, flushes and compactions, its last
	// memtable flushed at the end), and StoreSize its size on disk then.
	DiskWritten, StoreSize uint64
}

// MiBPer1k is bytes per 1 000 headers of the chain, in MiB.
func (r CatchupResult) MiBPer1k(bytes uint64) float64 {
	return float64(bytes) / (1 << 20) / (float64(r.Headers) / 1000)
}

// Ratio is the catch-up rate over the all-core signature-verification rate:
// the fraction of the physical limit reached.
func (r CatchupResult) Ratio() float64 { return r.Rate / r.VerifyAllCores }

// String is the benchmark's summary line.
func (r CatchupResult) String() string {
	return fmt.Sprintf("catchup headers=%d peers=%d store=%s rate=%.0f verify_1core=%.0f verify_allcores=%.0f ratio_allcores=%.2f verify_expanded_allcores=%.0f peak_heap_mb=%.1f rtt_ms=%s steady_rate=%.0f disk_mb_per_1k=%.3f store_mb_per_1k=%.3f",
		r.Headers, r.Peers, r.Store, r.Rate, r.Verify1Core, r.VerifyAllCores, r.Ratio(), r.ExpandedAllCores, r.PeakHeapMiB,
		formatRTTs(r.RTT), r.SteadyRate, r.MiBPer1k(r.DiskWritten), r.MiBPer1k(r.StoreSize))
}

func (o *CatchupOptions) defaults() error {
	if o.Headers == 0 {
		o.Headers = 50_000
	}
	if o.Peers == 0 {
		o.Peers = 1
	}
	if o.Store == "" {
		o.Store = "pebble"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.Headers < 2:
		return fmt.Errorf("--headers %d: expected at least 2", o.Headers)
	case o.Peers < 1:
		return fmt.Errorf("--peers %d: expected at least 1", o.Peers)
	case o.Store != "memory" && o.Store != "pebble":
		return fmt.Errorf("--store %q: expected memory or pebble", o.Store)
	case len(o.RTT) > 1 && len(o.RTT) != o.Peers:
		return fmt.Errorf("--rtt %s: %d values, expected 1 or one per peer (%d)", formatRTTs(o.RTT), len(o.RTT), o.Peers)
	}
	for _, d := range o.RTT {
		if d < 0 {
			return fmt.Errorf("--rtt %s: expected durations of zero or more", d)
		}
	}
	return nil
}

const benchChainID = "bench"

// Catchup builds a chain of o.Headers signed headers, loads it into o.Peers
// serving nodes on 127.0.0.1, starts a fresh node seeded by all of them and
// times it from start until its store holds the whole chain. It measures the
// signature-verification limit first, in the same process.
func Catchup(ctx context.Context, o CatchupOptions) (CatchupResult, error) {
	if err := o.defaults(); err != nil {
		return CatchupResult{}, err
	}
	res := CatchupResult{Headers: o.Headers, Peers: o.Peers, Store: o.Store, RTT: o.RTT}
	res.Verify1Core = VerifyRate(1, time.Second)
	res.VerifyAllCores = VerifyRate(runtime.GOMAXPROCS(0), time.Second)
	res.ExpandedAllCores = ExpandedVerifyRate(runtime.GOMAXPROCS(0), time.Second)

	dir := o.Dir
	if o.Store == "pebble" {
		var removeDir func()
		var err error
		if dir, removeDir, err = benchDir(o.Dir); err != nil {
			return res, err
		}
		defer removeDir()
	}
	var closers []func() error
	defer func() { closeAll(closers) }()
	openStore := func(name string) (p2psync.Datastore, error) {
		if o.Store == "memory" {
			ds := store.Memory()
			closers = append(closers, ds.Close)
			return ds, nil
		}
		ds, err := store.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		closers = append(closers, ds.Close)
		return ds, nil
	}

	gen, err := chaingen.New(benchChainID, o.Headers, chaingen.Options{})
	if err != nil {
		return res, err
	}
	var serverStores []p2psync.Datastore
	for i := 0; i < o.Peers; i++ {
		ds, err := openStore(fmt.Sprintf("server-%d", i))
		if err != nil {
			return res, err
		}
		serverStores = append(serverStores, ds)
	}
	if err := loadChain(ctx, gen, o.Headers, serverStores); err != nil {
		return res, err
	}

	var (
		seeds   []string
		servers []peer.ID
		relays  []*netdelay.Relay
	)
	for i, ds := range serverStores {
		client, _, stop, err := startServer(ctx, gen.Genesis, ds, o.Logger)
		if err != nil {
			return res, fmt.Errorf("server %d: %w", i, err)
		}
		closers = append(closers, stop)
		servers = append(servers, client.ID())
		if !relayed(o.RTT) {
			seeds = append(seeds, client.Addrs()[0].String())
			continue
		}
		relay, seed, err := relayFor(ctx, client, rttFor(o.RTT, i))
		if err != nil {
			return res, err
		}
		closers = append(closers, relay.Close)
		relays = append(relays, relay)
		seeds = append(seeds, seed)
	}

	ds, err := openStore("syncer")
	if err != nil {
		return res, err
	}
	client, err := startClient(ctx, seeds, o.Logger, relayed(o.RTT))
	if err != nil {
		return res, err
	}
	closers = append(closers, func() error { return client.Stop(context.Background()) })
	svc, err := p2psync.New[*types.SignedHeader](p2psync.Config{
		Kind: p2psync.Headers, Genesis: gen.Genesis, BlockTime: time.Second, Logger: o.Logger,
		RequestSize: o.RequestSize,
	}, client, ds)
	if err != nil {
		return res, err
	}

	runtime.GC()
	heap := StartHeapSampler()
	if o.CPUProfile != nil {
		if err := pprof.StartCPUProfile(o.CPUProfile); err != nil {
			return res, fmt.Errorf("cpu profile: %w", err)
		}
	}
	writtenBefore, _ := store.DiskStats(ds.Pebble())
	start := time.Now()
	if err := svc.Start(ctx); err != nil {
		return res, fmt.Errorf("start syncing node: %w", err)
	}
	closers = append(closers, func() error { return svc.Stop(context.Background()) })
	stopProgress := reportCatchup(o.Progress, svc, uint64(o.Headers), start)
	steady := watchSteady(svc.Height, uint64(o.Headers))
	_, err = svc.WaitHeight(ctx, uint64(o.Headers))
	res.Elapsed = time.Since(start)
	res.SteadyRate = steady.Stop()
	stopProgress()
	res.RelayedConns, res.DirectConns = countRelayed(client.Host(), servers)
	for _, r := range relays {
		res.RelayedBytes += r.Forwarded()
	}
	if o.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	res.PeakHeapMiB = heap.Stop()
	if err != nil {
		return res, fmt.Errorf("wait for height %d: %w", o.Headers, err)
	}
	if err := ds.Pebble().Flush(); err != nil {
		return res, fmt.Errorf("flush the syncing node's database: %w", err)
	}
	written, size := store.DiskStats(ds.Pebble())
	res.DiskWritten, res.StoreSize = written-writtenBefore, size
	res.Rate = float64(o.Headers) / res.Elapsed.Seconds()
	return res, nil
}

// benchDir returns dir, or if it is empty a new temporary directory; remove
// deletes the temporary one (and nothing else).
func benchDir(dir string) (_ string, remove func(), _ error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "headersync-bench-")
	if err != nil {
		return "", nil, fmt.Errorf("bench dir: %w", err)
	}
	return tmp, func() { _ = os.RemoveAll(tmp) }, nil
}

// closeAll runs the teardown of a finished benchmark, last started first;
// its errors are of no interest then.
func closeAll(closers []func() error) {
	for i := len(closers) - 1; i >= 0; i-- {
		_ = closers[i]()
	}
}

// startServer starts a serving node on ds: a libp2p client and a
// sequencer's service, which holds the chain and syncs from nobody. stop
// stops both; after an error nothing is left running.
func startServer(ctx context.Context, g *types.Genesis, ds p2psync.Datastore, logger *slog.Logger) (
	client *p2p.Client, seq *p2psync.Sequencer[*types.SignedHeader], stop func() error, err error,
) {
	if client, err = startClient(ctx, nil, logger, false); err != nil {
		return nil, nil, nil, err
	}
	stopClient := func() error { return client.Stop(context.Background()) }
	seq, err = p2psync.NewSequencer[*types.SignedHeader](p2psync.Config{
		Kind: p2psync.Headers, Genesis: g, BlockTime: time.Second, Logger: logger,
	}, client, ds)
	if err == nil {
		err = seq.Start(ctx)
	}
	if err != nil {
		return nil, nil, nil, errors.Join(fmt.Errorf("start the serving node: %w", err), stopClient())
	}
	return client, seq, func() error { return errors.Join(seq.Stop(context.Background()), stopClient()) }, nil
}

// loadChain signs n headers and imports them into every store, a batch at a
// time, so the chain is never held in memory whole.
func loadChain(ctx context.Context, gen *chaingen.Generator, n int, stores []p2psync.Datastore) error {
	importers := make([]*p2psync.Importer[*types.SignedHeader], len(stores))
	for i, ds := range stores {
		im, err := p2psync.NewImporter[*types.SignedHeader](ctx, ds, p2psync.Headers)
		if err != nil {
			return err
		}
		importers[i] = im
	}
	const batch = 4096
	for done := 0; done < n; {
		hs, err := gen.Headers(min(batch, n-done))
		if err != nil {
			return err
		}
		for _, im := range importers {
			if err := im.Append(ctx, hs...); err != nil {
				return err
			}
		}
		done += len(hs)
	}
	var errs []error
	for _, im := range importers {
		errs = append(errs, im.Close(ctx))
	}
	return errors.Join(errs...)
}

// startClient starts a libp2p client on a free loopback TCP port (TCP
// only, so that a relay in front of it is the only path). onlyRelays makes
// it refuse every direct connection on 127.0.0.1 (see relayIP).
func startClient(ctx context.Context, seeds []string, logger *slog.Logger, onlyRelays bool) (*p2p.Client, error) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	cfg, err := p2pconf.Parse(config.P2PConfig{ListenAddress: []string{"/ip4/127.0.0.1/tcp/0"}, Seeds: seeds})
	if err != nil {
		return nil, err
	}
	client, err := p2p.New(cfg, key, benchChainID, nil, logger)
	if err != nil {
		return nil, err
	}
	if onlyRelays {
		if err := client.ConnectionGater().BlockAddr(directIP); err != nil {
			return nil, fmt.Errorf("refuse direct connections: %w", err)
		}
	}
	if err := client.Start(ctx); err != nil {
		return nil, err
	}
	return client, nil
}

// reportCatchup writes the syncing node's height once a second.
func reportCatchup(w io.Writer, svc *p2psync.Service[*types.SignedHeader], target uint64, start time.Time) (stop func()) {
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				h := svc.Height()
				fmt.Fprintf(w, "catchup: %d/%d headers after %s (%.0f headers/s)\n",
					h, target, time.Since(start).Round(time.Second), float64(h)/time.Since(start).Seconds())
			}
		}
	}()
	return func() { close(done); <-finished }
}
