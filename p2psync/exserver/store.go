package exserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/celestiaorg/go-header"
)

// Store is what the server reads: headers already encoded as they travel
// on the wire, so that serving one costs a copy, not a decode and an encode.
type Store interface {
	// HeadBytes returns the encoded head and its height; header.ErrNoHead if none.
	HeadBytes(ctx context.Context) (height uint64, raw []byte, err error)
	// BytesByHash returns the encoded header with that hash; header.ErrNotFound if none.
	BytesByHash(ctx context.Context, hash header.Hash) ([]byte, error)
	// ScanBytes calls fn with each stored header in [from, to) in height order, with one
	// iterator; it stops early at the first height not stored. raw is valid only during fn.
	ScanBytes(ctx context.Context, from, to uint64, fn func(height uint64, raw []byte) error) error
}

// FromHeaderStore serves a go-header store: each header is read as go-header
// reads it and marshalled again. It exists for tests and comparisons; a
// store that keeps the encoded bytes serves them without this cost.
func FromHeaderStore[H header.Header[H]](s header.Store[H]) Store {
	return headerStore[H]{s: s}
}

type headerStore[H header.Header[H]] struct {
	s header.Store[H]
}

func (a headerStore[H]) HeadBytes(ctx context.Context) (uint64, []byte, error) {
	h, err := a.s.Head(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("read head: %w", err)
	}
	raw, err := h.MarshalBinary()
	if err != nil {
		return 0, nil, fmt.Errorf("encode head %d: %w", h.Height(), err)
	}
	return h.Height(), raw, nil
}

func (a headerStore[H]) BytesByHash(ctx context.Context, hash header.Hash) ([]byte, error) {
	h, err := a.s.Get(ctx, hash)
	if err != nil {
		return nil, fmt.Errorf("read header %x: %w", []byte(hash), err)
	}
	raw, err := h.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encode header %x: %w", []byte(hash), err)
	}
	return raw, nil
}

// scanChunk bounds how many decoded headers ScanBytes holds at once.
const scanChunk = header.MaxRangeRequestSize

func (a headerStore[H]) ScanBytes(ctx context.Context, from, to uint64, fn func(uint64, []byte) error) error {
	top := a.s.Height()
	if top == 0 {
		// go-header's store learns its height when its head is first read.
		if _, err := a.s.Head(ctx); err != nil {
			if errors.Is(err, header.ErrNoHead) {
				return nil
			}
			return fmt.Errorf("read head: %w", err)
		}
		top = a.s.Height()
	}
	// go-header's store waits for a height above its head; a scan stops
	// there. Height 0 is never stored.
	to = min(to, top+1)
	if from == 0 {
		return nil
	}
	for lo := from; lo < to; lo += scanChunk {
		hi := min(lo+scanChunk, to)
		hs, err := a.s.GetRange(ctx, lo, hi)
		if errors.Is(err, header.ErrNotFound) {
			// Below the lowest stored header: go-header's store cannot say
			// where its headers begin, so the scan ends here.
			return nil
		}
		if err != nil {
			return fmt.Errorf("read headers [%d, %d): %w", lo, hi, err)
		}
		for _, h := range hs {
			raw, err := h.MarshalBinary()
			if err != nil {
				return fmt.Errorf("encode header %d: %w", h.Height(), err)
			}
			if err := fn(h.Height(), raw); err != nil {
				return err
			}
		}
	}
	return nil
}
