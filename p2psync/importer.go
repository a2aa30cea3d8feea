package p2psync

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/headersync/headersync/store/headerstore"
)

// Importer writes a known chain straight into the store a Service of the
// same kind would use, without the network: benchmarks and tests use it to
// give serving nodes a long chain quickly. The first header imported into an
// empty store initialises it; every later one must extend the chain (the
// store verifies each against its predecessor).
type Importer[H Header[H]] struct {
	store *headerstore.Store[H]
}

// NewImporter opens the kind's store in ds.
func NewImporter[H Header[H]](ctx context.Context, ds Datastore, kind Kind) (*Importer[H], error) {
	st, err := openStore[H](ctx, ds, kind, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return &Importer[H]{store: st}, nil
}

// Append adds headers to the chain; they are on disk when it returns.
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

// Close ends the import. Everything appended is already on disk.
func (im *Importer[H]) Close(context.Context) error { return nil }
