package headerstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/store/headerstore"
	"github.com/headersync/headersync/types"
)

// With SyncEvery, appends soon after a sync are written but not synced:
// DurableHeight trails Height until a timer, Sync or Close syncs them, and
// an append SyncEvery after the last sync syncs at once. What was synced is
// there after a reopen.
func TestSyncEveryBoundsTheUnsyncedTail(t *testing.T) {
	hs, _, _ := chains(t)
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(dir)
	require.NoError(t, err)
	const every = 200 * time.Millisecond
	st, err := headerstore.New[*types.SignedHeader](db.Pebble(), prefix, headerstore.WithSyncEvery(every))
	require.NoError(t, err)

	require.NoError(t, st.Init(ctx, hs[0]))
	require.Equal(t, uint64(1), st.DurableHeight(), "Init syncs")
	require.NoError(t, st.Append(ctx, hs[1:10]...))
	require.Equal(t, uint64(10), st.Height())
	require.Equal(t, uint64(1), st.DurableHeight(), "an append right after a sync is left unsynced")
	require.NoError(t, st.Sync(ctx))
	require.Equal(t, uint64(10), st.DurableHeight())

	began := time.Now()
	require.NoError(t, st.Append(ctx, hs[10:20]...))
	require.Eventually(t, func() bool { return st.DurableHeight() == 20 }, 10*time.Second, time.Millisecond,
		"the timer never synced the tail")
	require.GreaterOrEqual(t, time.Since(began), every/2, "synced long before SyncEvery: the timer is not what synced")

	time.Sleep(every) // let SyncEvery pass since the last sync: the next append syncs itself
	require.NoError(t, st.Append(ctx, hs[20]))
	require.Equal(t, uint64(21), st.DurableHeight(), "an append SyncEvery after the last sync syncs")

	require.NoError(t, st.Append(ctx, hs[21:30]...))
	require.NoError(t, st.Close(ctx))
	require.Equal(t, uint64(30), st.DurableHeight(), "Close syncs")
	require.NoError(t, db.Close())

	db, err = store.Open(dir)
	require.NoError(t, err)
	defer db.Close()
	st, err = headerstore.New[*types.SignedHeader](db.Pebble(), prefix)
	require.NoError(t, err)
	require.Equal(t, uint64(30), st.Height())
	require.Equal(t, uint64(30), st.DurableHeight())
}
