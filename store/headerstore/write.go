package headerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/cockroachdb/pebble/v2"
)

// Init stores the store's first header: base and head become its height. A
// store that holds headers refuses with ErrAlreadyInitialized.
func (s *Store[H]) Init(ctx context.Context, first H) error {
	if first.IsZero() || first.Height() == 0 {
		return errors.New("headerstore: init with a zero header")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Height() != 0 {
		return fmt.Errorf("%w: head %d", ErrAlreadyInitialized, s.Height())
	}
	return s.commit(ctx, meta{base: first.Height(), head: first.Height()}, []H{first}, true, nil)
}

// Append verifies headers on top of the head and stores them, returning once
// they are on disk. As in go-header's store: each must be the next height
// (else *header.ErrNonAdjacent, and nothing is stored; so headers already
// stored are refused too) and pass the previous header's Verify; if one
// fails, the headers before it are stored and its error is returned, unless
// it is the first, when nothing is. An empty store is header.ErrNoHead.
func (s *Store[H]) Append(ctx context.Context, headers ...H) error {
	if len(headers) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bounds.Load()
	if b.height == 0 {
		return header.ErrNoHead
	}
	head := b.head
	n := 0
	var verifyErr error
	for _, h := range headers {
		if h.Height() != head.Height()+1 {
			return &header.ErrNonAdjacent{Head: head.Height(), Attempted: h.Height()}
		}
		if err := head.Verify(h); err != nil {
			s.log.Warn("append: header fails verification", "height", h.Height(), "hash", h.Hash(),
				"head", head.Height(), "err", err)
			verifyErr = err
			break
		}
		head, n = h, n+1
	}
	if n == 0 {
		return verifyErr
	}
	if err := s.commitSoon(ctx, meta{base: b.base, head: head.Height()}, headers[:n], nil); err != nil {
		return err
	}
	return verifyErr
}

// commitSoon is commit synced within SyncEvery: now if the last sync is that
// old, else by a later write or the sync timer. The caller holds s.mu.
func (s *Store[H]) commitSoon(ctx context.Context, m meta, headers []H, keep *bounds[H]) error {
	sync := s.syncEvery == 0 || time.Since(s.lastSync) >= s.syncEvery
	if err := s.commit(ctx, m, headers, sync, keep); err != nil {
		return err
	}
	if !sync {
		s.syncLater()
	}
	return nil
}

// commit writes headers (adjacent, verified) and m in one batch, synced if
// sync, then publishes the new bounds (and durable height). The head of the
// new bounds is the last of headers, or keep's head if keep is not nil
// (headers below the base). The caller holds s.mu.
func (s *Store[H]) commit(ctx context.Context, m meta, headers []H, sync bool, keep *bounds[H]) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	batch := s.db.NewBatch()
	defer batch.Close()
	var raw []byte
	for _, h := range headers {
		var err error
		if raw, err = h.MarshalBinary(); err != nil {
			return fmt.Errorf("headerstore: encode header %d: %w", h.Height(), err)
		}
		if err := batch.Set(s.keys.heightKey(h.Height()), raw, nil); err != nil {
			return fmt.Errorf("headerstore: batch header %d: %w", h.Height(), err)
		}
		if err := batch.Set(s.keys.indexKey(h.Hash()), encodeHeight(h.Height()), nil); err != nil {
			return fmt.Errorf("headerstore: batch index %d: %w", h.Height(), err)
		}
	}
	if err := batch.Set(s.keys.meta, m.encode(), nil); err != nil {
		return fmt.Errorf("headerstore: batch meta: %w", err)
	}
	opts := pebble.NoSync
	if sync {
		opts = pebble.Sync
	}
	if err := batch.Commit(opts); err != nil {
		return fmt.Errorf("headerstore: commit headers %d..%d: %w", headers[0].Height(), m.head, err)
	}
	if sync {
		s.markSynced(m.head)
	} else {
		s.dirty = true
	}
	if keep != nil {
		s.publish(&bounds[H]{base: m.base, height: keep.height, head: keep.head, raw: keep.raw})
		return nil
	}
	s.publish(&bounds[H]{base: m.base, height: m.head, head: headers[len(headers)-1], raw: raw})
	return nil
}

// DurableHeight is the head height of the last write synced to disk: a
// restart after a kill -9 or a power loss resumes from there or higher.
// It trails Height by at most SyncEvery of appends.
func (s *Store[H]) DurableHeight() uint64 { return s.durable.Load() }

// Sync syncs every write made so far, if any is not yet: DurableHeight is
// then Height.
func (s *Store[H]) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncLocked()
}

// Close syncs what is unsynced and stops the sync timer; the store is not
// used after. It does not close the database.
func (s *Store[H]) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.syncTimer != nil {
		s.syncTimer.Stop()
		s.syncTimer = nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.syncLocked()
}

// syncLocked syncs pebble's WAL, and with it every write before; s.mu held.
func (s *Store[H]) syncLocked() error {
	height := s.Height()
	if s.durable.Load() >= height && !s.dirty {
		return nil
	}
	if err := s.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("headerstore: sync writes up to %d: %w", height, err)
	}
	s.markSynced(height)
	s.notify()
	return nil
}

// markSynced records height as durable; s.mu held.
func (s *Store[H]) markSynced(height uint64) {
	s.durable.Store(height)
	s.dirty = false
	s.lastSync = time.Now()
	if s.syncTimer != nil {
		s.syncTimer.Stop()
		s.syncTimer = nil
	}
}

// syncLater makes sure an unsynced write is synced within SyncEvery even if
// no Append comes to do it; s.mu held.
func (s *Store[H]) syncLater() {
	if s.syncTimer != nil || s.closed {
		return
	}
	s.syncTimer = time.AfterFunc(s.syncEvery, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.syncTimer = nil
		if s.closed {
			return
		}
		if err := s.syncLocked(); err != nil {
			s.log.Error("sync appended headers", "err", err)
		}
	})
}

// ErrNotBelowBase: Prepend was given headers that do not end right below
// the base, or that the base (or each other) do not link to by hash.
var ErrNotBelowBase = errors.New("headerstore: headers do not extend the store downwards")

// Prepend stores headers, of consecutive heights in ascending order, below
// the base: the last must be at Base()-1, and the base header and each
// header above another must name it as LastHeader. The base becomes the
// first's height; the head does not change. The store checks only heights
// and hash links: authenticating the headers (types.LinkBelow) is the
// caller's. As with Append, the write is synced within SyncEvery; a crash
// before that loses the prepended headers, never the store's consistency
// (base and headers are one batch). A store with no headers is
// header.ErrNoHead.
func (s *Store[H]) Prepend(ctx context.Context, headers ...H) error {
	if len(headers) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bounds.Load()
	if b.height == 0 {
		return header.ErrNoHead
	}
	above, err := s.read(b.base)
	if err != nil {
		return fmt.Errorf("headerstore: read base %d: %w", b.base, err)
	}
	for i := len(headers) - 1; i >= 0; i-- {
		h := headers[i]
		if h.IsZero() || h.Height()+1 != above.Height() {
			return fmt.Errorf("%w: header %d below %d", ErrNotBelowBase, h.Height(), above.Height())
		}
		if !bytes.Equal(above.LastHeader(), h.Hash()) {
			return fmt.Errorf("%w: header %d names %x as the one below it, header %d is %x",
				ErrNotBelowBase, above.Height(), []byte(above.LastHeader()), h.Height(), []byte(h.Hash()))
		}
		above = h
	}
	return s.commitSoon(ctx, meta{base: headers[0].Height(), head: b.height}, headers, b)
}

// deleteChunk bounds the headers one DeleteBelow batch removes, so that a
// large deletion does not build one huge batch of index deletions.
const deleteChunk = 16 << 10

// DeleteBelow deletes the headers below height, never the head, and raises
// the base to match: the retention window's half of the light-window issue.
// Each chunk is one synced batch with the meta record, so a crash leaves a
// consistent store with a base somewhere between the old one and height.
func (s *Store[H]) DeleteBelow(ctx context.Context, height uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		b := s.bounds.Load()
		target := min(height, b.height)
		if b.height == 0 || target <= b.base {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		to := min(target, b.base+deleteChunk)
		if err := s.deleteRange(ctx, b, to); err != nil {
			return err
		}
	}
}

// deleteRange deletes [b.base, to) and makes to the base.
func (s *Store[H]) deleteRange(ctx context.Context, b *bounds[H], to uint64) error {
	batch := s.db.NewBatch()
	defer batch.Close()
	// The index is keyed by hash, so each deleted header is read for its hash.
	err := s.scan(ctx, b.base, to, func(height uint64, raw []byte) error {
		h, err := decode[H](s.keys, raw, height)
		if err != nil {
			return err
		}
		return batch.Delete(s.keys.indexKey(h.Hash()), nil)
	})
	if err != nil {
		return fmt.Errorf("headerstore: delete below %d: %w", to, err)
	}
	if err := batch.DeleteRange(s.keys.heightKey(b.base), s.keys.heightKey(to), nil); err != nil {
		return fmt.Errorf("headerstore: delete below %d: %w", to, err)
	}
	if err := batch.Set(s.keys.meta, meta{base: to, head: b.height}.encode(), nil); err != nil {
		return fmt.Errorf("headerstore: batch meta: %w", err)
	}
	// Readers learn the new base before the deletion is committed: pebble
	// shows a committed batch to readers before its synced Commit returns,
	// and a reader of the old base would meanwhile find heights at or
	// above it missing, for as long as an fsync takes (the API then said
	// "height 11 pruned: this node keeps heights 11..", and the cross-check
	// saw a hole). Claiming less than is stored is harmless; a failed
	// commit puts the old bounds back.
	s.publish(&bounds[H]{base: to, height: b.height, head: b.head, raw: b.raw})
	if err := batch.Commit(pebble.Sync); err != nil {
		s.publish(b)
		return fmt.Errorf("headerstore: commit deletion below %d: %w", to, err)
	}
	s.markSynced(b.height) // the synced batch synced every write before it
	return nil
}
