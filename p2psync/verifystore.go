package p2psync

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/celestiaorg/go-header"
	hstore "github.com/celestiaorg/go-header/store"
	"github.com/ipfs/go-datastore"

	"github.com/headersync/headersync/types"
)

// ErrCorruptStore: a stored chain breaks one of the rules every chain must
// keep.
var ErrCorruptStore = errors.New("corrupt store")

// StoreReport describes a chain VerifyStore checked.
type StoreReport struct {
	Empty      bool   // nothing stored yet
	From, Head uint64 // the first and last heights checked
}

// VerifyStore checks, offline, the chain a service of kind keeps in ds: from
// the stored head back to its first header, every header is valid, signed
// by the genesis sequencer, extends the one below it and is the one the
// height index names; the first is the genesis header, or the one with
// trustedHash if given. It is what must hold after any crash.
func VerifyStore[H Header[H]](ctx context.Context, ds datastore.Batching, kind Kind, g *types.Genesis, trustedHash header.Hash) (StoreReport, error) {
	st, err := hstore.NewStore[H](ds, hstore.WithStorePrefix(kind.StorePrefix()))
	if err != nil {
		return StoreReport{}, fmt.Errorf("open %s store: %w", kind, err)
	}
	if err := st.Start(ctx); err != nil {
		return StoreReport{}, fmt.Errorf("open %s store: %w", kind, err)
	}
	defer func() { _ = st.Stop(context.WithoutCancel(ctx)) }() // nothing was written

	head, err := st.Head(ctx)
	if errors.Is(err, header.ErrNoHead) {
		return StoreReport{Empty: true}, nil
	}
	if err != nil {
		return StoreReport{}, fmt.Errorf("%w: %s head: %w", ErrCorruptStore, kind, err)
	}
	first := g.InitialHeight
	if len(trustedHash) != 0 {
		trusted, err := st.Get(ctx, trustedHash)
		if err != nil {
			return StoreReport{}, fmt.Errorf("%w: %s trusted header %s: %w", ErrCorruptStore, kind, trustedHash, err)
		}
		first = trusted.Height()
	}
	if err := checkSequencer(g, head); err != nil {
		return StoreReport{}, fmt.Errorf("%w: %s head: %w", ErrCorruptStore, kind, err)
	}
	if err := checkIndexed(ctx, st, head); err != nil {
		return StoreReport{}, fmt.Errorf("%w: %s: %w", ErrCorruptStore, kind, err)
	}

	cur := head
	for cur.Height() > first {
		if err := ctx.Err(); err != nil {
			return StoreReport{}, err
		}
		prev, err := st.Get(ctx, cur.LastHeader())
		if err != nil {
			return StoreReport{}, fmt.Errorf("%w: %s header %d: its predecessor %s: %w", ErrCorruptStore, kind, cur.Height(), cur.LastHeader(), err)
		}
		if err := checkSequencer(g, prev); err != nil {
			return StoreReport{}, fmt.Errorf("%w: %s: %w", ErrCorruptStore, kind, err)
		}
		if err := prev.Verify(cur); err != nil {
			return StoreReport{}, fmt.Errorf("%w: %s header %d does not extend %d: %w", ErrCorruptStore, kind, cur.Height(), prev.Height(), err)
		}
		if err := checkIndexed(ctx, st, prev); err != nil {
			return StoreReport{}, fmt.Errorf("%w: %s: %w", ErrCorruptStore, kind, err)
		}
		cur = prev
	}
	if err := checkFirst(g, trustedHash, cur); err != nil {
		return StoreReport{}, fmt.Errorf("%w: %s first header: %w", ErrCorruptStore, kind, err)
	}
	return StoreReport{From: cur.Height(), Head: head.Height()}, nil
}

// checkIndexed reports whether the store's height index names h.
func checkIndexed[H Header[H]](ctx context.Context, st *hstore.Store[H], h H) error {
	indexed, err := st.GetByHeight(ctx, h.Height())
	if err != nil {
		return fmt.Errorf("height index at %d: %w", h.Height(), err)
	}
	if !bytes.Equal(indexed.Hash(), h.Hash()) {
		return fmt.Errorf("height index at %d does not name %s", h.Height(), h.Hash())
	}
	return nil
}

// StoredHeight returns the height of the chain a service of kind keeps in ds
// (0 if empty), read before any service opens it: a sequencer compares it
// with what it signed to decide whether to recover from its peers.
func StoredHeight[H Header[H]](ctx context.Context, ds datastore.Batching, kind Kind) (uint64, error) {
	st, err := hstore.NewStore[H](ds, hstore.WithStorePrefix(kind.StorePrefix()))
	if err != nil {
		return 0, fmt.Errorf("open %s store: %w", kind, err)
	}
	if err := st.Start(ctx); err != nil {
		return 0, fmt.Errorf("open %s store: %w", kind, err)
	}
	defer func() { _ = st.Stop(context.WithoutCancel(ctx)) }() // nothing was written
	head, err := st.Head(ctx)
	switch {
	case errors.Is(err, header.ErrNoHead):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("read stored %s head: %w", kind, err)
	}
	return head.Height(), nil
}
