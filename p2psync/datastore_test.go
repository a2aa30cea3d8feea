package p2psync_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/store"
)

// openPebble opens the node's real on-disk database (store.Open), closed
// when the test ends.
func openPebble(t *testing.T, dir string) *store.DB {
	t.Helper()
	ds, err := store.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ds.Close()) })
	return ds
}

func allKeys(t *testing.T, ds datastore.Datastore) []string {
	t.Helper()
	res, err := ds.Query(context.Background(), query.Query{KeysOnly: true})
	require.NoError(t, err)
	entries, err := res.Rest()
	require.NoError(t, err)
	keys := make([]string, 0, len(entries))
	for _, e := range entries {
		keys = append(keys, e.Key)
	}
	slices.Sort(keys)
	return keys
}

func hasPrefix(s, prefix string) bool { return strings.HasPrefix(s, prefix) }
