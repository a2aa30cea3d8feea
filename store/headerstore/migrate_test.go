package headerstore_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/celestiaorg/go-header"
	hstore "github.com/celestiaorg/go-header/store"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/store/headerstore"
	"github.com/headersync/headersync/types"
)

// fillOld writes chain[base-1:head] with go-header's store on disk in dir.
func fillOld[H header.Header[H]](t *testing.T, dir string, chain []H, base, head uint64) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(dir)
	require.NoError(t, err)
	st, err := hstore.NewStore[H](db, hstore.WithStorePrefix(prefix), hstore.WithWriteBatchSize(64))
	require.NoError(t, err)
	require.NoError(t, st.Start(ctx))
	require.NoError(t, st.Init(ctx, chain[base-1]))
	for from := base; from < head; from += 100 {
		require.NoError(t, st.Append(ctx, chain[from:min(from+100, head)]...))
	}
	require.NoError(t, st.Stop(ctx))
	require.NoError(t, db.Close())
}

// oldKeys counts the keys of go-header's layout under the prefix.
func oldKeys(t *testing.T, db *store.DB) int {
	t.Helper()
	root := []byte("/" + prefix + "/")
	iter, err := db.Pebble().NewIter(nil)
	require.NoError(t, err)
	defer iter.Close()
	n := 0
	for valid := iter.SeekGE(root); valid && bytes.HasPrefix(iter.Key(), root); valid = iter.Next() {
		if !bytes.HasPrefix(iter.Key(), []byte("/"+prefix+"/v2/")) {
			n++
		}
	}
	return n
}

func checkMigrated[H header.Header[H]](t *testing.T, db *store.DB, chain []H, base, head uint64) {
	t.Helper()
	ctx := context.Background()
	st, err := headerstore.New[H](db.Pebble(), prefix)
	require.NoError(t, err)
	require.Equal(t, base, st.Base())
	require.Equal(t, head, st.Height())
	got, err := st.GetRange(ctx, base, head+1)
	require.NoError(t, err)
	require.Len(t, got, int(head-base+1))
	for i, h := range got {
		require.Equal(t, chain[base-1+uint64(i)].Hash(), h.Hash())
		byHash, err := st.Get(ctx, h.Hash())
		require.NoError(t, err)
		require.Equal(t, h.Height(), byHash.Height())
	}
	require.Zero(t, oldKeys(t, db), "the old layout is deleted")
	require.NoError(t, st.Append(ctx, chain[head]), "the migrated store goes on")
}

func TestMigrate(t *testing.T) {
	chain, blocks, _ := chains(t)
	ctx := context.Background()
	defer headerstore.SetMigrateBatch(128)()

	t.Run("headers", func(t *testing.T) {
		dir := t.TempDir()
		fillOld(t, dir, chain, 1, 500)
		db, err := store.Open(dir)
		require.NoError(t, err)
		defer db.Close()
		require.NotZero(t, oldKeys(t, db))
		_, err = headerstore.New[*types.SignedHeader](db.Pebble(), prefix)
		require.ErrorIs(t, err, headerstore.ErrNeedsMigration)

		var calls, last, total uint64
		migrated, err := headerstore.Migrate[*types.SignedHeader](ctx, db.Pebble(), db, prefix, func(done, all uint64) {
			require.Greater(t, done, last)
			calls, last, total = calls+1, done, all
		})
		require.NoError(t, err)
		require.True(t, migrated)
		require.EqualValues(t, 500, total)
		require.EqualValues(t, 500, last)
		require.EqualValues(t, 4, calls, "three batches of 128 and the last")
		checkMigrated(t, db, chain, 1, 500)

		migrated, err = headerstore.Migrate[*types.SignedHeader](ctx, db.Pebble(), db, prefix, nil)
		require.NoError(t, err)
		require.False(t, migrated, "nothing left to migrate")
	})

	t.Run("blocks from a trusted base", func(t *testing.T) {
		dir := t.TempDir()
		fillOld(t, dir, blocks, 37, 300)
		db, err := store.Open(dir)
		require.NoError(t, err)
		defer db.Close()
		migrated, err := headerstore.Migrate[*types.Block](ctx, db.Pebble(), db, prefix, nil)
		require.NoError(t, err)
		require.True(t, migrated)
		checkMigrated(t, db, blocks, 37, 300)
	})

	t.Run("interrupted, then again", func(t *testing.T) {
		dir := t.TempDir()
		fillOld(t, dir, chain, 1, 400)
		db, err := store.Open(dir)
		require.NoError(t, err)
		// A crash after the first batch: the process ends mid-copy.
		stopCtx, cancel := context.WithCancel(ctx)
		_, err = headerstore.Migrate[*types.SignedHeader](stopCtx, db.Pebble(), db, prefix, func(uint64, uint64) { cancel() })
		require.ErrorIs(t, err, context.Canceled)
		require.NoError(t, db.Close())

		db, err = store.Open(dir)
		require.NoError(t, err)
		defer db.Close()
		_, err = headerstore.New[*types.SignedHeader](db.Pebble(), prefix)
		require.ErrorIs(t, err, headerstore.ErrNeedsMigration, "no meta until the copy is complete")
		require.NotZero(t, oldKeys(t, db), "the old layout is kept until then")

		migrated, err := headerstore.Migrate[*types.SignedHeader](ctx, db.Pebble(), db, prefix, nil)
		require.NoError(t, err)
		require.True(t, migrated)
		checkMigrated(t, db, chain, 1, 400)
	})

	t.Run("empty", func(t *testing.T) {
		db, err := store.Open(t.TempDir())
		require.NoError(t, err)
		defer db.Close()
		migrated, err := headerstore.Migrate[*types.SignedHeader](ctx, db.Pebble(), db, prefix, nil)
		require.NoError(t, err)
		require.False(t, migrated)
	})
}
