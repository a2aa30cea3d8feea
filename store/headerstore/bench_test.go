package headerstore_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	hstore "github.com/celestiaorg/go-header/store"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/store/headerstore"
	"github.com/headersync/headersync/types"
)

// benchLen headers are signed once for the benchmarks; a benchmark that
// needs more starts again on a new store.
const (
	benchLen   = 1 << 15
	benchBatch = 512 // header.MaxRangeRequestSize: a catch-up's append and a served range
)

var (
	benchOnce  sync.Once
	benchChain []*types.SignedHeader
	benchErr   error
)

func benchHeaders(b *testing.B) []*types.SignedHeader {
	b.Helper()
	benchOnce.Do(func() {
		g, err := chaingen.New("headerstore-bench", benchLen, chaingen.Options{})
		if err != nil {
			benchErr = err
			return
		}
		benchChain, benchErr = g.Headers(benchLen)
	})
	require.NoError(b, benchErr)
	return benchChain
}

// benchStore is a store on disk and the database beneath it.
type benchStore struct {
	st   header.Store[*types.SignedHeader]
	db   *store.DB
	stop func() error // flushes what the store holds back, then closes
}

func openBench(b *testing.B, name, dir string) benchStore {
	b.Helper()
	db, err := store.Open(dir)
	require.NoError(b, err)
	if name == "go-header" {
		st, err := hstore.NewStore[*types.SignedHeader](db, hstore.WithStorePrefix(prefix))
		require.NoError(b, err)
		require.NoError(b, st.Start(context.Background()))
		_, _ = st.Head(context.Background())
		return benchStore{st: st, db: db, stop: func() error { return st.Stop(context.Background()) }}
	}
	st, err := headerstore.New[*types.SignedHeader](db.Pebble(), prefix)
	require.NoError(b, err)
	return benchStore{st: st, db: db, stop: func() error { return nil }}
}

// settle flushes pebble's memtable and waits for its compactions, so that
// the bytes it wrote include what the appends will cost it.
func settle(b *testing.B, db *store.DB) {
	b.Helper()
	require.NoError(b, db.Pebble().Flush())
	deadline := time.Now().Add(30 * time.Second)
	for db.Pebble().Metrics().Compact.NumInProgress > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling pebble's own progress
	}
}

// BenchmarkAppend appends batches of 512 signed headers to a store on disk:
// time per header until the headers are on disk, and bytes pebble wrote per
// header (WAL, flushes, compactions) and keeps on disk.
func BenchmarkAppend(b *testing.B) {
	chain := benchHeaders(b)
	ctx := context.Background()
	for _, name := range []string{"go-header", "headerstore"} {
		b.Run(name, func(b *testing.B) {
			var written, size uint64
			var stored int
			var bs benchStore
			next := 0
			open := func() {
				bs = openBench(b, name, b.TempDir())
				require.NoError(b, bs.st.Init(ctx, chain[0]))
				next = 1
			}
			finish := func() {
				require.NoError(b, bs.stop())
				b.StopTimer()
				settle(b, bs.db)
				w, s := bs.db.DiskStats()
				written, size = written+w, size+s
				stored += next
				require.NoError(b, bs.db.Close())
				b.StartTimer()
			}
			b.StopTimer()
			open()
			b.StartTimer()
			for i := 0; i < b.N; i++ {
				if next+benchBatch > len(chain) {
					finish()
					b.StopTimer()
					open()
					b.StartTimer()
				}
				if err := bs.st.Append(ctx, chain[next:next+benchBatch]...); err != nil {
					b.Fatal(err)
				}
				next += benchBatch
			}
			finish()
			b.StopTimer()
			n := float64(b.N * benchBatch)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/header")
			b.ReportMetric(float64(written)/float64(stored), "written_B/header")
			b.ReportMetric(float64(size)/float64(stored), "disk_B/header")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkRange reads ranges of 512 headers at random from a store on
// disk, as the exchange server serves them: go-header's store through
// GetRange and MarshalBinary (what its server does), this one through
// ScanBytes, and through GetRange for comparison.
func BenchmarkRange(b *testing.B) {
	chain := benchHeaders(b)
	ctx := context.Background()
	for _, variant := range []struct{ name, store string }{
		{"go-header/GetRange", "go-header"},
		{"headerstore/GetRange", "headerstore"},
		{"headerstore/ScanBytes", "headerstore"},
	} {
		b.Run(variant.name, func(b *testing.B) {
			dir := b.TempDir()
			bs := openBench(b, variant.store, dir)
			require.NoError(b, bs.st.Init(ctx, chain[0]))
			for from := 1; from < len(chain); from += benchBatch {
				require.NoError(b, bs.st.Append(ctx, chain[from:min(from+benchBatch, len(chain))]...))
			}
			// Reopen: reads come from disk (and pebble's cache), not from
			// go-header's cache of what was just appended.
			require.NoError(b, bs.stop())
			settle(b, bs.db)
			require.NoError(b, bs.db.Close())
			bs = openBench(b, variant.store, dir)
			defer func() {
				require.NoError(b, bs.stop())
				require.NoError(b, bs.db.Close())
			}()
			newStore, _ := bs.st.(*headerstore.Store[*types.SignedHeader])

			rng := rand.New(rand.NewPCG(1, 2))
			buf := make([]byte, 0, 512<<10)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				from := 1 + rng.Uint64N(benchLen-benchBatch)
				buf = buf[:0]
				if variant.name == "headerstore/ScanBytes" {
					err := newStore.ScanBytes(ctx, from, from+benchBatch, func(_ uint64, raw []byte) error {
						buf = append(buf, raw...)
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
					continue
				}
				hs, err := bs.st.GetRange(ctx, from, from+benchBatch)
				if err != nil {
					b.Fatal(err)
				}
				for _, h := range hs {
					raw, err := h.MarshalBinary()
					if err != nil {
						b.Fatal(err)
					}
					buf = append(buf, raw...)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/header")
			b.ReportMetric(0, "ns/op")
		})
	}
}
