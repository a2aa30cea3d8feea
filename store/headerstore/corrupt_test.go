package headerstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"

	"github.com/celestiaorg/go-header"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/internal/diskfault"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/store/headerstore"
	"github.com/headersync/headersync/types"
)

// damaged is what flipped data blocks took from a store: the heights whose
// header record, and those whose hash index entry, sat in them.
type damaged struct {
	records, index []uint64 // ascending
}

// keyKind says what a key of the store under prefix holds: a header record
// or an index entry of one of hs, and its height.
func keyKind(k []byte, heightByHash map[string]uint64) (height uint64, isRecord, ok bool) {
	if rest, found := bytes.CutPrefix(k, []byte("/"+prefix+"/v2/h/")); found && len(rest) == 8 {
		return binary.BigEndian.Uint64(rest), true, true
	}
	if rest, found := bytes.CutPrefix(k, []byte("/"+prefix+"/v2/x/")); found {
		h, known := heightByHash[string(rest)]
		return h, false, known
	}
	return 0, false, false
}

// damageStore stores hs on disk in dir, closes the database and flips a
// byte in two of its data blocks: one holding only header records, one only
// index entries, none of the head (New reads it). It returns what it damaged, read with
// pebble's table reader rather than with the store under test.
func damageStore(t *testing.T, dir string, hs []*types.SignedHeader) damaged {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(dir)
	require.NoError(t, err)
	st, err := headerstore.New[*types.SignedHeader](db.Pebble(), prefix)
	require.NoError(t, err)
	require.NoError(t, st.Init(ctx, hs[0]))
	require.NoError(t, st.Append(ctx, hs[1:]...))
	require.NoError(t, db.Close())

	heightByHash := make(map[string]uint64, len(hs))
	for _, h := range hs {
		heightByHash[string(h.Hash())] = h.Height()
	}
	head := hs[len(hs)-1].Height()
	tables, err := diskfault.Tables(dir)
	require.NoError(t, err)
	require.Len(t, tables, 1, "a clean close flushes everything to one table")
	// Choose both blocks before damaging either: FindBlock reads the table.
	var (
		d      damaged
		chosen []diskfault.Block
	)
	for _, wantRecord := range []bool{true, false} {
		blk, keys, err := diskfault.FindBlock(tables[0], func(k []byte) bool {
			h, isRecord, ok := keyKind(k, heightByHash)
			return ok && isRecord == wantRecord && h != head
		})
		require.NoError(t, err, "records %v", wantRecord)
		heights := make([]uint64, len(keys))
		for i, k := range keys {
			heights[i], _, _ = keyKind(k, heightByHash)
		}
		slices.Sort(heights)
		if wantRecord {
			d.records = heights
		} else {
			d.index = heights
		}
		chosen = append(chosen, blk)
	}
	for _, blk := range chosen {
		require.NoError(t, diskfault.FlipBlock(tables[0], blk))
	}
	return d
}

// requireCorrupt requires err to be a corrupt read of key, and nothing a
// caller would take for a missing header.
func requireCorrupt(t *testing.T, err error, key string, msgAndArgs ...any) {
	t.Helper()
	require.ErrorIs(t, err, store.ErrCorrupt, msgAndArgs...)
	require.NotErrorIs(t, err, header.ErrNotFound, msgAndArgs...)
	var corrupt *store.CorruptError
	require.ErrorAs(t, err, &corrupt, msgAndArgs...)
	require.Equal(t, key, corrupt.Key.String(), msgAndArgs...)
}

// A read of a damaged header record or index entry fails with a
// *store.CorruptError naming what it read, as store.DB's reads do; every
// other read still answers, and not-found stays go-header's sentinel.
func TestCorruptReadsAreStoreErrCorrupt(t *testing.T) {
	ctx := context.Background()
	hs := headerFixture(t).chain
	dir := t.TempDir()
	d := damageStore(t, dir, hs)
	t.Logf("damaged header records %v, index entries of %v", d.records, d.index)

	db, err := store.Open(dir)
	require.NoError(t, err)
	defer func() { require.NoError(t, db.Close()) }()
	st, err := headerstore.New[*types.SignedHeader](db.Pebble(), prefix)
	require.NoError(t, err, "the head and meta are intact: the store opens")

	recordKey := func(h uint64) string { return fmt.Sprintf("/%s/v2/h/%d", prefix, h) }
	indexKey := func(h uint64) string { return fmt.Sprintf("/%s/v2/x/%s", prefix, hex.EncodeToString(hs[h-1].Hash())) }
	for _, h := range hs {
		height := h.Height()
		badRecord, badIndex := slices.Contains(d.records, height), slices.Contains(d.index, height)

		got, err := st.GetByHeight(ctx, height)
		if badRecord {
			requireCorrupt(t, err, recordKey(height), "GetByHeight %d", height)
		} else {
			require.NoError(t, err, "GetByHeight %d", height)
			require.Equal(t, h.Hash(), got.Hash())
		}

		// By hash: the index entry, then the record.
		wantKey := ""
		switch {
		case badIndex:
			wantKey = indexKey(height)
		case badRecord:
			wantKey = recordKey(height)
		}
		_, err = st.Get(ctx, h.Hash())
		raw, rawErr := st.BytesByHash(ctx, h.Hash())
		if wantKey != "" {
			requireCorrupt(t, err, wantKey, "Get %d", height)
			requireCorrupt(t, rawErr, wantKey, "BytesByHash %d", height)
			require.Nil(t, raw)
		} else {
			require.NoError(t, err, "Get %d", height)
			require.NoError(t, rawErr, "BytesByHash %d", height)
		}
		has, err := st.Has(ctx, h.Hash())
		if badIndex {
			requireCorrupt(t, err, indexKey(height), "Has %d", height)
		} else {
			require.NoError(t, err, "Has %d", height)
			require.True(t, has, "Has %d", height)
		}
	}

	// A range fails if it holds a damaged record, whichever end it is at;
	// one that ends just below or begins just above the damage is served.
	first, last := d.records[0], d.records[len(d.records)-1]
	for _, r := range []struct{ from, to, bad uint64 }{
		{first, first + 1, first},
		{first - 5, last + 5, first},
		{first - 5, first + 1, first},
		{last, last + 5, last},
	} {
		_, err := st.GetRange(ctx, r.from, r.to)
		requireCorrupt(t, err, recordKey(r.bad), "GetRange [%d, %d)", r.from, r.to)
		_, err = st.GetRangeByHeight(ctx, hs[r.from-2], r.to)
		requireCorrupt(t, err, recordKey(r.bad), "GetRangeByHeight (%d, %d)", r.from-1, r.to)
		var scanned []uint64
		err = st.ScanBytes(ctx, r.from, r.to, func(height uint64, _ []byte) error {
			scanned = append(scanned, height)
			return nil
		})
		requireCorrupt(t, err, recordKey(r.bad), "ScanBytes [%d, %d)", r.from, r.to)
		require.Less(t, uint64(len(scanned)), r.bad-r.from+1, "ScanBytes [%d, %d) showed a damaged header", r.from, r.to)
	}
	for _, r := range []struct{ from, to uint64 }{{first - 20, first}, {last + 1, last + 20}} {
		got, err := st.GetRange(ctx, r.from, r.to)
		require.NoError(t, err, "GetRange [%d, %d) holds no damaged record", r.from, r.to)
		require.Len(t, got, int(r.to-r.from))
		n := 0
		require.NoError(t, st.ScanBytes(ctx, r.from, r.to, func(uint64, []byte) error { n++; return nil }))
		require.Equal(t, int(r.to-r.from), n)
	}

	// What is absent is go-header's sentinel itself, damage or not.
	_, err = st.Get(ctx, make(header.Hash, 32))
	require.True(t, err == header.ErrNotFound, "Get of an unknown hash: %v", err) //nolint:errorlint // go-header compares by ==
	_, err = st.BytesByHash(ctx, make(header.Hash, 32))
	require.True(t, err == header.ErrNotFound, "BytesByHash of an unknown hash: %v", err) //nolint:errorlint // as above
	_, err = st.GetByHeight(ctx, 0)
	require.True(t, err == header.ErrNotFound, "GetByHeight 0: %v", err) //nolint:errorlint // as above

	// Deleting through the damage must read it (for the hashes): it fails,
	// and the base stays.
	err = st.DeleteBelow(ctx, last+1)
	require.ErrorIs(t, err, store.ErrCorrupt)
	require.LessOrEqual(t, st.Base(), first)
}

// A damaged head record fails New with store.ErrCorrupt naming what it
// read: the store cannot say what it holds.
func TestCorruptHeadFailsNew(t *testing.T) {
	ctx := context.Background()
	hs := headerFixture(t).chain
	dir := t.TempDir()
	db, err := store.Open(dir)
	require.NoError(t, err)
	st, err := headerstore.New[*types.SignedHeader](db.Pebble(), prefix)
	require.NoError(t, err)
	require.NoError(t, st.Init(ctx, hs[0]))
	require.NoError(t, st.Append(ctx, hs[1:]...))
	require.NoError(t, db.Close())

	head := hs[len(hs)-1].Height()
	headKey := binary.BigEndian.AppendUint64([]byte("/"+prefix+"/v2/h/"), head)
	tables, err := diskfault.Tables(dir)
	require.NoError(t, err)
	require.Len(t, tables, 1)
	blocks, err := diskfault.DataBlocks(tables[0])
	require.NoError(t, err)
	flipped := false
	for _, blk := range blocks {
		keys, err := diskfault.KeysIn(tables[0], blk)
		require.NoError(t, err)
		if slices.ContainsFunc(keys, func(k []byte) bool { return bytes.Equal(k, headKey) }) {
			require.NoError(t, diskfault.FlipBlock(tables[0], blk))
			flipped = true
			break
		}
	}
	require.True(t, flipped, "no data block holds the head record")

	db, err = store.Open(dir)
	require.NoError(t, err)
	defer func() { require.NoError(t, db.Close()) }()
	_, err = headerstore.New[*types.SignedHeader](db.Pebble(), prefix)
	// The meta record sorts next to the head's, so the block holds it too.
	require.ErrorIs(t, err, store.ErrCorrupt)
	require.NotErrorIs(t, err, headerstore.ErrNeedsMigration)
	var corrupt *store.CorruptError
	require.ErrorAs(t, err, &corrupt)
	require.Contains(t, []string{"/" + prefix + "/v2/meta", fmt.Sprintf("/%s/v2/h/%d", prefix, head)}, corrupt.Key.String())
}
