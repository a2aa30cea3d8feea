package p2psync

import (
	"context"
	"errors"
	"fmt"

	"github.com/celestiaorg/go-header"
	"github.com/ipfs/go-datastore"
)

// A store begins at the genesis header or at the header of the trusted hash.
// The trusted hash is configuration (config.toml's trusted_hash, or a flag
// given to one start), used once, when the store is empty, and go-header's
// store keeps no record of where it began. So a service that initialises
// from a trusted hash records that hash beside its store: the checks made at
// start and by `headersync check` then know where the chain must begin,
// whatever the configuration says today.

// baseKey is where a kind's trusted first header is recorded, outside
// go-header's own keys.
func baseKey(kind Kind) datastore.Key {
	return datastore.NewKey("/trustedbase").ChildString(kind.StorePrefix())
}

// RecordedBase returns the hash of the trusted header the kind's store in ds
// was initialised from, or nil if none is recorded: the store began at
// genesis, is empty, or was initialised before the record existed.
func RecordedBase(ctx context.Context, ds datastore.Read, kind Kind) (header.Hash, error) {
	raw, err := ds.Get(ctx, baseKey(kind))
	switch {
	case errors.Is(err, datastore.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the %s store's trusted base: %w", kind, err)
	}
	return header.Hash(raw), nil
}

// TrustedBase returns the hash of the header the kind's store in ds must
// begin at: the recorded one, else configured (nil: the genesis header).
func TrustedBase(ctx context.Context, ds datastore.Read, kind Kind, configured header.Hash) (header.Hash, error) {
	recorded, err := RecordedBase(ctx, ds, kind)
	if err != nil || recorded != nil {
		return recorded, err
	}
	return configured, nil
}

// recordBase records hash as the trusted header the kind's store begins at.
// It is written before the store is initialised with that header: a crash
// in between leaves an empty store, which initialises again.
func recordBase(ctx context.Context, ds datastore.Write, kind Kind, hash header.Hash) error {
	if err := ds.Put(ctx, baseKey(kind), hash); err != nil {
		return fmt.Errorf("record the %s store's trusted base %s: %w", kind, hash, err)
	}
	return nil
}
