package store_test

import (
	"context"
	"testing"

	"github.com/ipfs/go-datastore"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/store"
)

func TestOpenPersistsAndLocks(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	key := datastore.NewKey("/headerEx/head")

	ds, err := store.Open(dir, store.Options{Sync: true})
	require.NoError(t, err)
	require.NoError(t, ds.Put(ctx, key, []byte("v")))

	_, err = store.Open(dir, store.Options{})
	require.ErrorContains(t, err, "another node", "a second process must not open the same data dir")

	require.NoError(t, ds.Close())
	ds, err = store.Open(dir, store.Options{})
	require.NoError(t, err)
	defer ds.Close()
	v, err := ds.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, []byte("v"), v)
}
