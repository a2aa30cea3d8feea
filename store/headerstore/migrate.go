package headerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/celestiaorg/go-header"
	hstore "github.com/celestiaorg/go-header/store"
	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-datastore"
)

// migrateBatch is how many headers one batch of a migration copies.
var migrateBatch uint64 = 4096

// Migrate copies the headers go-header's store keeps under prefix in ds (the
// datastore over db) into this package's layout in db, then deletes the old
// layout. It reports whether there was anything to copy; progress, if not
// nil, is called after each batch with the headers copied so far.
//
// It is crash-safe and idempotent. While go-header's head record exists the
// old layout is the store: a migration begins by clearing whatever an
// interrupted one left in the new layout, and copies from scratch. The new
// meta record and the deletion of the old layout are one batch, committed
// last; after it the old head is gone and Migrate has nothing to do.
//
// Only the last batch is synced: pebble's write-ahead log is one sequence,
// so syncing it makes every batch before it durable too, and a crash before
// then leaves the old layout, which is copied again.
func Migrate[H header.Header[H]](ctx context.Context, db *pebble.DB, ds datastore.Batching, prefix string, progress func(done, total uint64)) (migrated bool, err error) {
	keys, err := newKeyspace(prefix)
	if err != nil {
		return false, err
	}
	old, err := hstore.NewStore[H](ds, hstore.WithStorePrefix(prefix))
	if err != nil {
		return false, fmt.Errorf("migrate %s: open the old store: %w", prefix, err)
	}
	if err := old.Start(ctx); err != nil {
		return false, fmt.Errorf("migrate %s: open the old store: %w", prefix, err)
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		// Nothing was written through it: stopping has nothing to flush.
		return old.Stop(context.WithoutCancel(ctx))
	}
	defer func() { _ = stop() }()

	head, err := old.Head(ctx)
	switch {
	case errors.Is(err, header.ErrNoHead):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("migrate %s: read the old head: %w", prefix, err)
	}
	base, err := oldBase(ctx, old, head.Height())
	if err != nil {
		return false, fmt.Errorf("migrate %s: %w", prefix, err)
	}
	total := head.Height() - base + 1

	// Clear what an interrupted migration left.
	batch := db.NewBatch()
	defer func() { batch.Close() }()
	if err := batch.DeleteRange(keys.base, end(keys.base), nil); err != nil {
		return false, fmt.Errorf("migrate %s: clear the new layout: %w", prefix, err)
	}
	var prev H
	for from := base; from <= head.Height(); from += migrateBatch {
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("migrate %s: %w", prefix, err)
		}
		to := min(from+migrateBatch, head.Height()+1)
		hs, err := old.GetRange(ctx, from, to)
		if err != nil {
			return false, fmt.Errorf("migrate %s: read old headers [%d, %d): %w", prefix, from, to, err)
		}
		for _, h := range hs {
			if !prev.IsZero() && !bytes.Equal(h.LastHeader(), prev.Hash()) {
				return false, fmt.Errorf("migrate %s: %w: old header %d does not link to %d", prefix, ErrCorrupt, h.Height(), prev.Height())
			}
			raw, err := h.MarshalBinary()
			if err != nil {
				return false, fmt.Errorf("migrate %s: encode header %d: %w", prefix, h.Height(), err)
			}
			if err := errors.Join(
				batch.Set(keys.heightKey(h.Height()), raw, nil),
				batch.Set(keys.indexKey(h.Hash()), encodeHeight(h.Height()), nil),
			); err != nil {
				return false, fmt.Errorf("migrate %s: batch header %d: %w", prefix, h.Height(), err)
			}
			prev = h
		}
		if to > head.Height() {
			break // the last batch is committed below, with the meta
		}
		if err := batch.Commit(pebble.NoSync); err != nil {
			return false, fmt.Errorf("migrate %s: commit headers below %d: %w", prefix, to, err)
		}
		batch.Close()
		batch = db.NewBatch()
		if progress != nil {
			progress(to-base, total)
		}
	}
	if err := stop(); err != nil {
		return false, fmt.Errorf("migrate %s: close the old store: %w", prefix, err)
	}
	// go-header's keys (hex hashes, decimal heights, "head") all sort below
	// "v2/", so this range is exactly the old layout.
	if err := errors.Join(
		batch.Set(keys.meta, meta{base: base, head: head.Height()}.encode(), nil),
		batch.DeleteRange(keys.root, keys.base, nil),
	); err != nil {
		return false, fmt.Errorf("migrate %s: batch meta: %w", prefix, err)
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		return false, fmt.Errorf("migrate %s: commit: %w", prefix, err)
	}
	if progress != nil {
		progress(total, total)
	}
	return true, nil
}

// oldBase finds the lowest height go-header's store holds. Its heights are
// contiguous up to head, so a binary search over its height index finds it.
func oldBase[H header.Header[H]](ctx context.Context, old *hstore.Store[H], head uint64) (uint64, error) {
	lo, hi := uint64(1), head // hi is stored
	for lo < hi {
		mid := lo + (hi-lo)/2
		_, err := old.GetByHeight(ctx, mid)
		switch {
		case err == nil:
			hi = mid
		case errors.Is(err, header.ErrNotFound):
			lo = mid + 1
		default:
			return 0, fmt.Errorf("find the old base: read height %d: %w", mid, err)
		}
	}
	return hi, nil
}
