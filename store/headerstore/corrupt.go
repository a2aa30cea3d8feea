package headerstore

import (
	"bytes"
	"encoding/hex"
	"strconv"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-datastore"

	"github.com/headersync/headersync/store"
)

// The store reads the *pebble.DB itself, not store.DB's datastore, so it
// classifies pebble's corruption errors as that datastore does: a read of
// damaged data is a *store.CorruptError (store.ErrCorrupt to errors.Is)
// naming the key it read, so that the node's API, its cross-check and
// `headersync check` tell a bad disk from a missing header whichever store
// they read.

// corruptAt returns err as a *store.CorruptError for key if pebble calls it
// corruption, and err unchanged otherwise.
func (k keyspace) corruptAt(key []byte, err error) error {
	if err != nil && pebble.IsCorruptionError(err) {
		return &store.CorruptError{Key: k.readable(key), Err: err}
	}
	return err
}

// undecodable is err, a record at height that passed pebble's checksums
// but does not decode to the header of its height, as a *store.CorruptError
// too: damage all the same (a write the checksums did not cover, or a bug),
// which the API, the cross-check and check treat as such.
func (k keyspace) undecodable(height uint64, err error) error {
	return &store.CorruptError{Key: k.readable(k.heightKey(height)), Err: err}
}

// readable spells key for people: a header key with its height in decimal
// ("/headerEx/v2/h/1234"), an index key with its hash in hex.
func (k keyspace) readable(key []byte) datastore.Key {
	if height, ok := k.heightOf(key); ok {
		return datastore.NewKey(string(k.height) + strconv.FormatUint(height, 10))
	}
	if hash, ok := bytes.CutPrefix(key, k.index); ok {
		return datastore.NewKey(string(k.index) + hex.EncodeToString(hash))
	}
	return datastore.NewKey(string(key))
}
