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
// the "head" key that a restarted store resumes from. A sequencer must not
// gossip a header that a crash could take back, or it would sign a different
// header at the same height after restarting. So its store runs over a
// commitWatcher, and Publish waits until the durable head is the header it
// appended.

// headKey is where go-header's store records its head (store/keys.go), under
// the store prefix: a restarted store reads its head from there.
const headKey = "head"

// commitWatcher is a datastore that signals every committed batch.
type commitWatcher struct {
	datastore.Batching

	mu        sync.Mutex
	committed chan struct{} // closed, and replaced, by each successful commit
}

func newCommitWatcher(ds datastore.Batching) *commitWatcher {
	return &commitWatcher{Batching: ds, committed: make(chan struct{})}
}

// Batch wraps the underlying batch so its commit is signalled.
func (w *commitWatcher) Batch(ctx context.Context) (datastore.Batch, error) {
	b, err := w.Batching.Batch(ctx)
	if err != nil {
		return nil, err
	}
	return &watchedBatch{Batch: b, w: w}, nil
}

// changed returns a channel closed at the next successful commit.
func (w *commitWatcher) changed() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.committed
}

func (w *commitWatcher) signal() {
	w.mu.Lock()
	close(w.committed)
	w.committed = make(chan struct{})
	w.mu.Unlock()
}

type watchedBatch struct {
	datastore.Batch
	w *commitWatcher
}

func (b *watchedBatch) Commit(ctx context.Context) error {
	if err := b.Batch.Commit(ctx); err != nil {
		return err
	}
	b.w.signal()
	return nil
}

// durableHead reads the head hash a restarted store would resume from.
func durableHead(ctx context.Context, ds datastore.Read, prefix string) (header.Hash, error) {
	raw, err := ds.Get(ctx, datastore.NewKey(prefix).ChildString(headKey))
	if err != nil {
		return nil, err
	}
	var h header.Hash
	if err := h.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("decode stored head: %w", err)
	}
	return h, nil
}

// waitDurable blocks until the store's durable head is hash.
func (w *commitWatcher) waitDurable(ctx context.Context, prefix string, hash header.Hash) error {
	for {
		changed := w.changed()
		head, err := durableHead(ctx, w.Batching, prefix)
		switch {
		case err == nil && bytes.Equal(head, hash):
			return nil
		case err != nil && !errors.Is(err, datastore.ErrNotFound):
			return fmt.Errorf("read durable head: %w", err)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for header %s to be written: %w", hash, ctx.Err())
		}
	}
}
