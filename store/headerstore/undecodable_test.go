package headerstore_test

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/store/headerstore"
	"github.com/headersync/headersync/types"
)

// A record that passes pebble's checksums but does not decode to the header
// of its height is damage like a failed checksum: store.ErrCorrupt, naming
// the key, so that the API answers it as corrupt and the cross-check steps
// over it; it is headerstore.ErrCorrupt as well.
func TestUndecodableRecordIsStoreErrCorrupt(t *testing.T) {
	hs, _, _ := chains(t)
	ctx := context.Background()
	db := store.Memory()
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	st, err := headerstore.New[*types.SignedHeader](db.Pebble(), prefix)
	require.NoError(t, err)
	require.NoError(t, st.Init(ctx, hs[0]))
	require.NoError(t, st.Append(ctx, hs[1:20]...))

	key := binary.BigEndian.AppendUint64([]byte("/"+prefix+"/v2/h/"), 10)
	require.NoError(t, db.Pebble().Set(key, []byte("not a header"), pebble.Sync))
	moved := binary.BigEndian.AppendUint64([]byte("/"+prefix+"/v2/h/"), 11)
	bz, err := hs[11].MarshalBinary() // header 12 stored at height 11
	require.NoError(t, err)
	require.NoError(t, db.Pebble().Set(moved, bz, pebble.Sync))

	for height, by := range map[uint64]func() error{
		10: func() error { _, err := st.GetByHeight(ctx, 10); return err },
		11: func() error { _, err := st.Get(ctx, hs[10].Hash()); return err },
	} {
		err := by()
		require.ErrorIs(t, err, store.ErrCorrupt, "height %d", height)
		require.ErrorIs(t, err, headerstore.ErrCorrupt, "height %d", height)
		var corrupt *store.CorruptError
		require.True(t, errors.As(err, &corrupt))
		require.Equal(t, "/"+prefix+"/v2/h/"+map[uint64]string{10: "10", 11: "11"}[height], corrupt.Key.String())
	}
	_, err = st.GetByHeight(ctx, 12)
	require.NoError(t, err, "the heights around are read as ever")
}
