package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-datastore"
	pebbleds "github.com/ipfs/go-ds-pebble"
)

// ErrCorrupt: data on disk failed pebble's checksums (a flipped bit, a
// torn write), so the key being read cannot be trusted. It is permanent:
// retrying the read fails again.
var ErrCorrupt = errors.New("store corrupt")

// CorruptError is a read that hit corrupt data. It matches ErrCorrupt.
type CorruptError struct {
	Key datastore.Key // the key being read
	Err error         // pebble's error, naming the file and what failed
}

func (e *CorruptError) Error() string { return fmt.Sprintf("%s: %s", ErrCorrupt, e.Detail()) }

// Detail describes the failed read without the words "store corrupt", for
// callers that say it their own way.
func (e *CorruptError) Detail() string { return fmt.Sprintf("read %s: %s", e.Key, firstLine(e.Err)) }

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

func (e *CorruptError) Unwrap() error { return e.Err }

// DB is the node's pebble database as Open and Memory return it. As a
// datastore, reads that hit corrupt data fail with a *CorruptError, so
// callers can tell a bad disk from a missing key or a closed store without
// knowing pebble; Pebble gives the database itself to the header stores;
// and Close releases the directory lock Open took.
type DB struct {
	*pebbleds.Datastore
	lock interface{ Close() error } // nil in memory

	closeOnce sync.Once
	closeErr  error
}

func (d *DB) Get(ctx context.Context, key datastore.Key) ([]byte, error) {
	v, err := d.Datastore.Get(ctx, key)
	return v, classify(key, err)
}

func (d *DB) Has(ctx context.Context, key datastore.Key) (bool, error) {
	ok, err := d.Datastore.Has(ctx, key)
	return ok, classify(key, err)
}

func (d *DB) GetSize(ctx context.Context, key datastore.Key) (int, error) {
	n, err := d.Datastore.GetSize(ctx, key)
	return n, classify(key, err)
}

// Close closes pebble, then releases the lock: pebble keeps its own
// reference to a lock it was given and drops only that one. Later calls
// return the first call's result, as go-ds-pebble's own Close does: the
// lock must be released exactly once.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		d.closeErr = d.Datastore.Close()
		if d.lock != nil {
			d.closeErr = errors.Join(d.closeErr, d.lock.Close())
		}
	})
	return d.closeErr
}

func classify(key datastore.Key, err error) error {
	if err != nil && pebble.IsCorruptionError(err) {
		return &CorruptError{Key: key, Err: err}
	}
	return err
}
