package headerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/celestiaorg/go-header"
	"github.com/cockroachdb/pebble/v2"
)

// The exchange server answers peers with headers as stored: these read the
// encodings without decoding them.

// HeadBytes returns the encoded head and its height; header.ErrNoHead if
// none.
func (s *Store[H]) HeadBytes(context.Context) (height uint64, raw []byte, err error) {
	b := s.bounds.Load()
	if b.height == 0 {
		return 0, nil, header.ErrNoHead
	}
	return b.height, bytes.Clone(b.raw), nil
}

// BytesByHash returns the encoded header with that hash; header.ErrNotFound
// if none.
func (s *Store[H]) BytesByHash(_ context.Context, hash header.Hash) ([]byte, error) {
	height, err := s.heightOf(hash)
	if err != nil {
		return nil, err
	}
	raw, err := s.getCopy(s.keys.heightKey(height))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return nil, header.ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("headerstore: read header %d: %w", height, err)
	}
	return raw, nil
}

// ScanBytes calls fn with each stored header in [from, to) in height order,
// with one iterator; it stops early at the first height not stored. raw is
// valid only during fn. It returns fn's first error.
func (s *Store[H]) ScanBytes(ctx context.Context, from, to uint64, fn func(height uint64, raw []byte) error) error {
	return s.scan(ctx, from, to, fn)
}

// ctxCheckEvery is how many headers a scan reads between looks at its ctx.
const ctxCheckEvery = 256

// scan is ScanBytes, limited to the published bounds: a header committed
// but not yet published is not shown.
func (s *Store[H]) scan(ctx context.Context, from, to uint64, fn func(height uint64, raw []byte) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := s.bounds.Load()
	to = min(to, b.height+1)
	if b.height == 0 || from < b.base || from >= to {
		return nil
	}
	iter, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: s.keys.heightKey(from),
		UpperBound: s.keys.heightKey(to),
	})
	if err != nil {
		return fmt.Errorf("headerstore: scan [%d, %d): %w", from, to, s.keys.corruptAt(s.keys.heightKey(from), err))
	}
	next := from
	// The scan ends on the last height without stepping past it: a step
	// reads the next key's block, which may be damaged, and a range that
	// holds no damaged header must not fail.
	for valid := iter.First(); valid; valid = next < to && iter.Next() {
		height, ok := s.keys.heightOf(iter.Key())
		if !ok || height != next {
			break
		}
		if (next-from)%ctxCheckEvery == ctxCheckEvery-1 {
			if err := ctx.Err(); err != nil {
				return errors.Join(err, iter.Close())
			}
		}
		raw, err := iter.ValueAndErr()
		if err != nil {
			err = s.keys.corruptAt(s.keys.heightKey(height), err)
			_ = iter.Close() // it returns this error again
			return fmt.Errorf("headerstore: read header %d: %w", height, err)
		}
		if err := fn(height, raw); err != nil {
			return errors.Join(err, iter.Close())
		}
		next++
	}
	// An iterator that fails stops as if the keys had ended: its error
	// belongs to the next height it was to read.
	if err := iter.Error(); err != nil {
		_ = iter.Close() // it returns this error again
		return fmt.Errorf("headerstore: scan [%d, %d): read header %d: %w", from, to, next, s.keys.corruptAt(s.keys.heightKey(next), err))
	}
	if err := iter.Close(); err != nil {
		return fmt.Errorf("headerstore: scan [%d, %d): %w", from, to, err)
	}
	return nil
}
