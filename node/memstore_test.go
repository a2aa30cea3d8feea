package node

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/store"
)

// memStore is an in-memory database (pebble on a memory file system),
// closed when the test ends.
func memStore(t *testing.T) *store.DB {
	t.Helper()
	ds := store.Memory()
	t.Cleanup(func() { require.NoError(t, ds.Close()) })
	return ds
}

// MemStore is memStore, for the package's external tests.
var MemStore = memStore
