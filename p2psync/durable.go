package p2psync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/celestiaorg/go-header"
	"github.com/ipfs/go-datastore"
)

// go-header's store appends asynchronously: Append returns once the headers
// are queued, and a background loop writes them later, each batch ending with
// the "head" key that a restarted store resumes from.
//
// What a reader of the datastore sees is not what is on disk. pebble makes a
// committed batch visible to readers before its write-ahead log is synced,
// and only the committing call waits for the sync. A node that read the head
// key to report its durable height could report a batch that a kill -9 then
// took back (issue 13, finding 5: the full node lost one whole batch after
// reporting it durable, about one run in four), and a sequencer waiting for
// its header to be durable could return, and gossip it, before it was.
//
// So the commitWatcher learns the durable head from the writes themselves:
// the head record a batch puts becomes durable only when that batch's Commit
// has returned without error (with the node's synced pebble, after fsync).

// headKey is where go-header's store records its head (store/keys.go), under
// the store prefix: a restarted store reads its head from there.
const headKey = "head"

// commitWatcher is a datastore that tracks the store's durable head: the
// head record of the last batch whose commit returned.
type commitWatcher struct {
	datastore.Batching
	head datastore.Key // the store's head record, prefix included

	mu        sync.Mutex
	durable   []byte        // the durable head record; nil while none is stored
	committed chan struct{} // closed, and replaced, when durable changes
}

// newCommitWatcher wraps ds for the store under prefix. The head record ds
// holds now is durable: it was recovered from disk when ds was opened.
func newCommitWatcher(ctx context.Context, ds datastore.Batching, prefix string) (*commitWatcher, error) {
	w := &commitWatcher{Batching: ds, head: datastore.NewKey(prefix).ChildString(headKey), committed: make(chan struct{})}
	raw, err := ds.Get(ctx, w.head)
	switch {
	case errors.Is(err, datastore.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("read stored head: %w", err)
	default:
		w.durable = raw
	}
	return w, nil
}

// Put records the head as durable once the write returns.
func (w *commitWatcher) Put(ctx context.Context, key datastore.Key, value []byte) error {
	if err := w.Batching.Put(ctx, key, value); err != nil {
		return err
	}
	if key == w.head {
		w.setDurable(value)
	}
	return nil
}

// Batch wraps the underlying batch so that the head it writes counts as
// durable only after its commit returns.
func (w *commitWatcher) Batch(ctx context.Context) (datastore.Batch, error) {
	b, err := w.Batching.Batch(ctx)
	if err != nil {
		return nil, err
	}
	return &watchedBatch{Batch: b, w: w}, nil
}

func (w *commitWatcher) setDurable(record []byte) {
	w.mu.Lock()
	w.durable = bytes.Clone(record)
	close(w.committed)
	w.committed = make(chan struct{})
	w.mu.Unlock()
}

// durableHead returns the hash of the durable head and a channel closed when
// it changes. The hash is nil while no head is durable.
func (w *commitWatcher) durableHead() (header.Hash, <-chan struct{}, error) {
	w.mu.Lock()
	raw, changed := w.durable, w.committed
	w.mu.Unlock()
	if raw == nil {
		return nil, changed, nil
	}
	var h header.Hash
	if err := h.UnmarshalJSON(raw); err != nil {
		return nil, changed, fmt.Errorf("decode stored head: %w", err)
	}
	return h, changed, nil
}

type watchedBatch struct {
	datastore.Batch
	w    *commitWatcher
	head []byte // the head record this batch writes, if any
}

func (b *watchedBatch) Put(ctx context.Context, key datastore.Key, value []byte) error {
	if err := b.Batch.Put(ctx, key, value); err != nil {
		return err
	}
	if key == b.w.head {
		b.head = bytes.Clone(value)
	}
	return nil
}

func (b *watchedBatch) Delete(ctx context.Context, key datastore.Key) error {
	if key == b.w.head {
		return errors.New("p2psync: deleting the store's head record is not supported")
	}
	return b.Batch.Delete(ctx, key)
}

func (b *watchedBatch) Commit(ctx context.Context) error {
	if err := b.Batch.Commit(ctx); err != nil {
		return err
	}
	if b.head != nil {
		b.w.setDurable(b.head)
	}
	return nil
}

// durableChain reads heights from a store's durable head.
type durableChain[H Header[H]] struct {
	w     *commitWatcher
	store header.Getter[H]
}

// height is the height of the head a restarted store would resume from:
// the last one whose write has returned, never one merely visible.
func (d durableChain[H]) height(ctx context.Context) uint64 {
	hash, _, err := d.w.durableHead()
	if err != nil || hash == nil {
		return 0
	}
	h, err := d.store.Get(ctx, hash)
	if err != nil {
		return 0
	}
	return h.Height()
}

// wait blocks until the durable head is at or above height: a restart
// resumes from there, and a chain that reached it through height holds the
// header appended there (the store appends only what extends its head).
func (d durableChain[H]) wait(ctx context.Context, height uint64) error {
	for {
		hash, changed, err := d.w.durableHead()
		if err != nil {
			return fmt.Errorf("read durable head: %w", err)
		}
		if hash != nil {
			if head, err := d.store.Get(ctx, hash); err == nil && head.Height() >= height {
				return nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for header %d to be written: %w", height, ctx.Err())
		}
	}
}
