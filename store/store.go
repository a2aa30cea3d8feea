// Package store opens the node's one datastore: embedded pebble on disk, or
// memory for tests. The sync services keep their stores inside it under
// their own prefixes ("headerEx", "blockEx").
package store

import (
	"fmt"
	"os"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	pebbleds "github.com/ipfs/go-ds-pebble"
)

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
	ds, err := pebbleds.NewDatastore(dir, pebbleds.WithPebbleWriteOptions(pebble.Sync))
	if err != nil {
		return nil, fmt.Errorf("open datastore %s (is another node running on this home?): %w", dir, err)
	}
	return ds, nil
}

// Memory returns an in-memory datastore, safe for concurrent use.
func Memory() datastore.Batching {
	return dssync.MutexWrap(datastore.NewMapDatastore())
}
