// Package store opens the node's one datastore: embedded pebble on disk, or
// memory for tests. The sync services keep their stores inside it under
// their own prefixes ("headerEx", "blockEx").
package store

import (
	"fmt"
	"os"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	pebbleds "github.com/ipfs/go-ds-pebble"
)

// cacheSize is pebble's block cache. go-header keys headers by hash, so a
// peer catching up from this node reads blocks all over the file; with the
// default 8 MiB a serving node spent a fifth of a catch-up re-reading and
// decompressing blocks (see docs/performance.md).
const cacheSize = 64 << 20

// Open opens, creating it if needed, the pebble datastore in dir. Only one
// process may hold it open.
//
// Every committed write is synced to disk before it returns. go-ds-pebble's
// default (pebble.NoSync) leaves committed batches in pebble's in-process
// WAL buffer, where a killed process loses them: a node would then restart
// from an older head than it reported, and a sequencer could sign a height
// twice. go-header's store commits one batch per append, so the cost is one
// fsync per block at the head and one per range of headers in a catch-up.
func Open(dir string) (datastore.Batching, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	opts := &pebble.Options{}
	// Bloom filters let a point read — every header a peer asks for is one
	// — skip the levels that do not hold its key.
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	ds, err := pebbleds.NewDatastore(dir, pebbleds.WithPebbleOpts(opts),
		pebbleds.WithPebbleWriteOptions(pebble.Sync), pebbleds.WithCacheSize(cacheSize))
	if err != nil {
		return nil, fmt.Errorf("open datastore %s (is another node running on this home?): %w", dir, err)
	}
	return ds, nil
}

// Memory returns an in-memory datastore, safe for concurrent use.
func Memory() datastore.Batching {
	return dssync.MutexWrap(datastore.NewMapDatastore())
}
