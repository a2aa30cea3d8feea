package p2psync

import (
	"context"
	"errors"
	"fmt"

	"github.com/celestiaorg/go-header"
	hstore "github.com/celestiaorg/go-header/store"
	"github.com/ipfs/go-datastore"
)

// Importer writes a known chain straight into the store a Service of the
// same kind would use, without the network: benchmarks and tests use it to
// give serving nodes a long chain quickly. The first header imported into an
// empty store initialises it; every later one must extend the chain (the
// store verifies each against its predecessor).
type Importer[H Header[H]] struct {
	store  *hstore.Store[H]
	closed bool
}

// NewImporter opens the kind's store in ds.
func NewImporter[H Header[H]](ctx context.Context, ds datastore.Batching, kind Kind) (*Importer[H], error) {
	st, err := hstore.NewStore[H](ds, hstore.WithStorePrefix(kind.StorePrefix()), hstore.WithWriteBatchSize(4096))
	if err != nil {
		return nil, fmt.Errorf("import: create store: %w", err)
	}
	if err := st.Start(ctx); err != nil {
		return nil, fmt.Errorf("import: start store: %w", err)
	}
	if _, err := st.Head(ctx); err != nil && !errors.Is(err, header.ErrNoHead) {
		_ = st.Stop(ctx)
		return nil, fmt.Errorf("import: read head: %w", err)
	}
	return &Importer[H]{store: st}, nil
}

// Append adds headers to the chain.
func (im *Importer[H]) Append(ctx context.Context, headers ...H) error {
	if len(headers) == 0 {
		return nil
	}
	if im.store.Height() == 0 {
		if err := im.store.Init(ctx, headers[0]); err != nil {
			return fmt.Errorf("import: initialise with header %d: %w", headers[0].Height(), err)
		}
		headers = headers[1:]
	}
	if err := im.store.Append(ctx, headers...); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	return nil
}

// Height returns the height of the imported chain.
func (im *Importer[H]) Height() uint64 { return im.store.Height() }

// Close writes everything imported to ds.
func (im *Importer[H]) Close(ctx context.Context) error {
	if im.closed {
		return nil
	}
	im.closed = true
	if err := im.store.Stop(ctx); err != nil {
		return fmt.Errorf("import: flush: %w", err)
	}
	return nil
}
