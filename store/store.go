// Package store opens the node's one pebble database: on disk, or on
// pebble's in-memory file system for tests, `--store memory` and benches (so
// they all run the same code). A *DB is a go-datastore (go-ds-pebble, which
// stores a key's string as its raw bytes) and gives the *pebble.DB beneath
// it to the header stores (store/headerstore), which keep their keys under
// their own prefixes ("/headerEx/", "/blockEx/") in the same database.
package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	pebbleds "github.com/ipfs/go-ds-pebble"
)

// ErrLocked: another process (or another Open in this one) holds the data
// dir.
var ErrLocked = errors.New("data dir in use by another process")

// cacheSize is pebble's block cache. go-header keys headers by hash, so a
// peer catching up from this node reads blocks all over the file; with the
// default 8 MiB a serving node spent a fifth of a catch-up re-reading and
// decompressing blocks (see docs/performance.md).
const cacheSize = 64 << 20

// Option configures Open.
type Option func(*options)

type options struct {
	log  *slog.Logger
	tune func(*pebble.Options)
}

// WithLogger is where Open's datastore reports corrupt data files, once
// each. The default discards the reports; reads still return ErrCorrupt.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// WithPebbleTuning changes pebble's options after this package has set
// them, before the database opens: for benchmarks that compare settings.
func WithPebbleTuning(f func(*pebble.Options)) Option {
	return func(o *options) { o.tune = f }
}

// Open opens, creating it if needed, the pebble datastore in dir. Only one
// process may hold it open: a second Open fails with ErrLocked. A data file
// that is missing or fails its checksums when pebble opens it fails Open
// (with ErrCorrupt if pebble calls it corrupt); one that fails later, on a
// read, fails that read with ErrCorrupt and nothing else.
//
// Every committed write is synced to disk before it returns. go-ds-pebble's
// default (pebble.NoSync) leaves committed batches in pebble's in-process
// WAL buffer, where a killed process loses them: a node would then restart
// from an older head than it reported, and a sequencer could sign a height
// twice. go-header's store commits one batch per append, so the cost is one
// fsync per block at the head and one per range of headers in a catch-up.
func Open(dir string, opt ...Option) (*DB, error) {
	o := newOptions(opt)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	// The lock is taken here, not inside pebble.Open, so that a failure to
	// take it is told apart from every other failure to open: only this one
	// means another node may be running on the home.
	lock, err := pebble.LockDirectory(dir, vfs.Default)
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			return nil, fmt.Errorf("open datastore %s: create lock file: %w", dir, err)
		}
		return nil, fmt.Errorf("open datastore %s: %w (is another node running on this home?): %w", dir, ErrLocked, err)
	}

	opts := pebbleOptions(o)
	opts.Lock = lock
	ds, err := pebbleds.NewDatastore(dir, pebbleds.WithPebbleOpts(opts),
		pebbleds.WithPebbleWriteOptions(pebble.Sync), pebbleds.WithCacheSize(cacheSize))
	if err != nil {
		_ = lock.Close() // pebble released its reference; this frees the file
		switch {
		case pebble.IsCorruptionError(err):
			return nil, fmt.Errorf("open datastore %s: %w: %s", dir, ErrCorrupt, firstLine(err))
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("open datastore %s: a data file is missing: %w", dir, err)
		}
		return nil, fmt.Errorf("open datastore %s: %w", dir, err)
	}
	// pebble opens a table's file only when it first reads it, so a table
	// whose footer or properties are unreadable would open fine and then
	// fail every read in its key range, while pebble's statistics loader
	// retried it in a loop without pause. Reading every live table's
	// properties now refuses such a store at once.
	if _, err := ds.DB.SSTables(pebble.WithProperties()); err != nil {
		_ = ds.Close() // the error worth reporting is the one above
		_ = lock.Close()
		if pebble.IsCorruptionError(err) {
			return nil, fmt.Errorf("open datastore %s: %w: %s", dir, ErrCorrupt, firstLine(err))
		}
		return nil, fmt.Errorf("open datastore %s: read table properties: %w", dir, err)
	}
	return &DB{Datastore: ds, lock: lock}, nil
}

func newOptions(opt []Option) options {
	o := options{log: slog.New(slog.DiscardHandler)}
	for _, f := range opt {
		f(&o)
	}
	return o
}

// pebbleOptions are the options of every database this package opens, on
// disk or in memory.
func pebbleOptions(o options) *pebble.Options {
	opts := &pebble.Options{EventListener: &pebble.EventListener{
		DataCorruption:  reportOnce(o.log),
		BackgroundError: backgroundError(o.log),
	}}
	// Bloom filters let a point read — a header asked for by hash is two:
	// the hash index, then the header — skip the tables without its key.
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	// The header stores append in height order and read ranges. What pebble
	// rewrites is the hash index (random keys) and, with it, every table a
	// flush overlaps: each flush holds a run of new heights and index
	// entries spread over the whole index. Fewer, larger flushes and L0
	// compactions rewrite the index less often. Measured with
	// store/headerstore's BenchmarkPebbleOptions, 1 000 000 signed headers
	// appended 512 at a time (tables about 218 B/header; bytes written are
	// WAL + flushes + compactions):
	//
	//	options                              written B/header  / tables
	//	pebble's (4 MiB memtable, L0 4)      1324-1352          6.1-6.2x
	//	64 MiB memtable                       921               4.2x
	//	32 MiB memtable, L0 threshold 8       950               4.4x
	//	64 MiB memtable, L0 threshold 8       705               3.2x
	//
	// 346 B/header of that is the write-ahead log, the price of a synced
	// append. Time per append did not differ beyond the noise of a shared
	// machine. The memtable is allocated outside the Go heap (cgo) and pebble
	// grows it to full size only under a sustained write load.
	//
	// Compression stays Snappy: signatures and hashes do not compress, but
	// the signer key, proposer address and chain ID repeat in every header,
	// so tables are 35% smaller than uncompressed (333 B/header). In one run
	// of 200 000 headers, uncompressed appends were not faster, and zstd
	// made tables 9% smaller for about 20% more time per append.
	opts.MemTableSize = 64 << 20
	opts.L0CompactionThreshold = 8
	opts.L0StopWritesThreshold = 24
	if o.tune != nil {
		o.tune(opts)
	}
	return opts
}

// reportOnce is pebble's DataCorruption handler. pebble's default calls
// Logger.Fatalf, ending the process on the first read of a bad block; this
// one logs each corrupt file once and lets the read fail with an error,
// which the datastore turns into ErrCorrupt. It runs on the read path, so it
// only logs.
func reportOnce(log *slog.Logger) func(pebble.DataCorruptionInfo) {
	seen := new(sync.Map) // paths already reported
	return func(info pebble.DataCorruptionInfo) {
		if _, dup := seen.LoadOrStore(info.Path, struct{}{}); dup {
			return
		}
		log.Error("store corrupt: a data file is damaged; reads of the keys in it fail (stop the node and run headersync check)",
			"file", info.Path, "keys", info.Bounds.String(), "err", firstLine(info.Details))
	}
}

// backgroundError logs the failures of pebble's own work (compactions,
// flushes, statistics). Corruption found there was already reported, once,
// by reportOnce; pebble retries such work, and would otherwise log the same
// corruption again on every attempt.
func backgroundError(log *slog.Logger) func(error) {
	return func(err error) {
		if pebble.IsCorruptionError(err) {
			return
		}
		log.Error("store background work failed", "err", firstLine(err))
	}
}

// firstLine is err's message up to its first line break: pebble's errors
// carry more lines of detail ("<corruption detail carrier>") that do not
// belong in a one-line report.
func firstLine(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}

// Memory returns a database on pebble's in-memory file system, with the
// options Open uses: tests, `--store memory` and benches run the code a node
// on disk runs. Syncs cost nothing there, and nothing survives Close.
//
// Its pebble runs background goroutines until Close; a memory database that
// is never closed is collected with its process.
func Memory(opt ...Option) *DB {
	opts := pebbleOptions(newOptions(opt))
	if opts.FS == nil { // a test may give its own, with hooks
		opts.FS = vfs.NewMem()
	}
	ds, err := pebbleds.NewDatastore("", pebbleds.WithPebbleOpts(opts),
		pebbleds.WithPebbleWriteOptions(pebble.Sync), pebbleds.WithCacheSize(cacheSize))
	if err != nil {
		// Nothing on an empty in-memory file system can fail to open.
		panic(fmt.Sprintf("store: open in-memory pebble: %v", err))
	}
	return &DB{Datastore: ds}
}
