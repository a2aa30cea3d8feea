package headerstore_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/store/headerstore"
	"github.com/headersync/headersync/types"
)

// BenchmarkPebbleOptions appends a long chain (HEADERSTORE_TUNE_N headers,
// default 200 000) to the store under candidate pebble options and reports
// what pebble wrote and keeps, per header, and the time per header: the
// measurements behind store's choice of options.
func BenchmarkPebbleOptions(b *testing.B) {
	n := 200_000
	if s := os.Getenv("HEADERSTORE_TUNE_N"); s != "" {
		var err error
		n, err = strconv.Atoi(s)
		require.NoError(b, err)
	}
	g, err := chaingen.New("headerstore-tune", n, chaingen.Options{})
	require.NoError(b, err)
	chain, err := g.Headers(n)
	require.NoError(b, err)
	raw, _ := chain[1].MarshalBinary()
	b.Logf("%d headers of %d bytes", n, len(raw))

	// Each variant but "store" starts from pebble's defaults for the
	// options store tunes.
	defaults := func(o *pebble.Options) {
		o.MemTableSize, o.L0CompactionThreshold, o.L0StopWritesThreshold = 0, 0, 0
	}
	with := func(f func(*pebble.Options)) func(*pebble.Options) {
		return func(o *pebble.Options) { defaults(o); f(o) }
	}
	compress := func(p *sstable.CompressionProfile) func(*pebble.Options) {
		return with(func(o *pebble.Options) {
			for i := range o.Levels {
				o.Levels[i].Compression = func() *sstable.CompressionProfile { return p }
			}
		})
	}
	variants := []struct {
		name string
		tune func(*pebble.Options)
	}{
		{"store", nil}, // the options store.Open chose
		{"defaults", defaults},
		{"nocompress", compress(sstable.NoCompression)},
		{"zstd", compress(sstable.ZstdCompression)},
		{"block32k", with(func(o *pebble.Options) {
			for i := range o.Levels {
				o.Levels[i].BlockSize = 32 << 10
			}
		})},
		{"memtable32", with(func(o *pebble.Options) { o.MemTableSize = 32 << 20 })},
		{"memtable64", with(func(o *pebble.Options) { o.MemTableSize = 64 << 20 })},
		{"memtable32-l0threshold8", with(func(o *pebble.Options) {
			o.MemTableSize, o.L0CompactionThreshold, o.L0StopWritesThreshold = 32<<20, 8, 24
		})},
		{"memtable64-lbase256", with(func(o *pebble.Options) { o.MemTableSize, o.LBaseMaxBytes = 64<<20, 256<<20 })},
	}
	ctx := context.Background()
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				db, err := store.Open(b.TempDir(), store.WithPebbleTuning(v.tune))
				require.NoError(b, err)
				st, err := headerstore.New[*types.SignedHeader](db.Pebble(), prefix)
				require.NoError(b, err)
				start := time.Now()
				require.NoError(b, st.Init(ctx, chain[0]))
				for from := 1; from < n; from += benchBatch {
					require.NoError(b, st.Append(ctx, chain[from:min(from+benchBatch, n)]...))
				}
				elapsed := time.Since(start)
				settle(b, db)
				m := db.Pebble().Metrics()
				written, size := db.DiskStats()
				var tables, flushed, compacted uint64
				for l := range m.Levels {
					tables += uint64(m.Levels[l].TablesSize)
					flushed += m.Levels[l].TableBytesFlushed
					compacted += m.Levels[l].TableBytesCompacted
				}
				per := func(x uint64) string { return fmt.Sprintf("%.0f", float64(x)/float64(n)) }
				b.Logf("%s: %.0f ns/header; B/header: written %s (wal %s flushed %s compacted %s), disk %s, tables %s; moves %d",
					v.name, float64(elapsed.Nanoseconds())/float64(n), per(written), per(m.WAL.BytesWritten), per(flushed), per(compacted), per(size), per(tables), m.Compact.MoveCount)
				b.ReportMetric(float64(written)/float64(n), "written_B/header")
				b.ReportMetric(float64(tables)/float64(n), "table_B/header")
				b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n), "ns/header")
				b.ReportMetric(0, "ns/op")
				require.NoError(b, db.Close())
			}
		})
	}
}
