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

// Options tune Open.
type Options struct {
	// Sync makes every committed write durable on disk before it returns
	// (fsync), so not even a power loss can take it back. The sequencer
	// needs it; other nodes can re-fetch what a crash loses.
	Sync bool
}

// Open opens, creating it if needed, the pebble datastore in dir. Only one
// process may hold it open.
func Open(dir string, opts Options) (datastore.Batching, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	var dsOpts []pebbleds.Option
	if opts.Sync {
		dsOpts = append(dsOpts, pebbleds.WithPebbleWriteOptions(pebble.Sync))
	}
	ds, err := pebbleds.NewDatastore(dir, dsOpts...)
	if err != nil {
		return nil, fmt.Errorf("open datastore %s (is another node running on this home?): %w", dir, err)
	}
	return ds, nil
}

// Memory returns an in-memory datastore, safe for concurrent use.
func Memory() datastore.Batching {
	return dssync.MutexWrap(datastore.NewMapDatastore())
}
