package headerstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/store/headerstore"
	"github.com/headersync/headersync/types"
)

func openDisk(t *testing.T, dir string) (*store.DB, *headerstore.Store[*types.SignedHeader]) {
	t.Helper()
	db, err := store.Open(dir)
	require.NoError(t, err)
	st, err := headerstore.New[*types.SignedHeader](db.Pebble(), prefix)
	require.NoError(t, err)
	return db, st
}

func encoded(t *testing.T, h *types.SignedHeader) []byte {
	t.Helper()
	raw, err := h.MarshalBinary()
	require.NoError(t, err)
	return raw
}

func TestNewRefusesBadPrefix(t *testing.T) {
	db := store.Memory()
	defer db.Close()
	for _, p := range []string{"", "a/b", "x\x00"} {
		_, err := headerstore.New[*types.SignedHeader](db.Pebble(), p)
		require.Error(t, err, "prefix %q", p)
	}
}

func TestByteReads(t *testing.T) {
	chain, _, alien := chains(t)
	ctx := context.Background()
	db, st := openDisk(t, t.TempDir())
	defer db.Close()

	_, _, err := st.HeadBytes(ctx)
	require.ErrorIs(t, err, header.ErrNoHead)
	require.Zero(t, st.Base())
	require.NoError(t, st.ScanBytes(ctx, 1, 10, func(uint64, []byte) error {
		t.Fatal("an empty store has nothing to scan")
		return nil
	}))

	require.NoError(t, st.Init(ctx, chain[4]))
	require.NoError(t, st.Append(ctx, chain[5:30]...))
	require.EqualValues(t, 5, st.Base())

	height, raw, err := st.HeadBytes(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 30, height)
	require.Equal(t, encoded(t, chain[29]), raw)

	raw, err = st.BytesByHash(ctx, chain[9].Hash())
	require.NoError(t, err)
	require.Equal(t, encoded(t, chain[9]), raw)
	_, err = st.BytesByHash(ctx, alien[9].Hash())
	require.ErrorIs(t, err, header.ErrNotFound)
	_, err = st.BytesByHash(ctx, chain[3].Hash())
	require.ErrorIs(t, err, header.ErrNotFound, "below the base")

	scan := func(from, to uint64) []uint64 {
		var got []uint64
		require.NoError(t, st.ScanBytes(ctx, from, to, func(height uint64, raw []byte) error {
			require.Equal(t, encoded(t, chain[height-1]), raw)
			got = append(got, height)
			return nil
		}))
		return got
	}
	seq := func(from, to uint64) []uint64 {
		var s []uint64
		for h := from; h < to; h++ {
			s = append(s, h)
		}
		return s
	}
	require.Equal(t, seq(5, 31), scan(5, 31))
	require.Equal(t, seq(5, 31), scan(5, 1000), "stops after the head")
	require.Equal(t, seq(29, 31), scan(29, 31))
	require.Nil(t, scan(4, 10), "stops at once below the base")
	require.Nil(t, scan(0, 10))
	require.Nil(t, scan(31, 40))
	require.Nil(t, scan(10, 10))

	stop := errors.New("stop")
	n := 0
	err = st.ScanBytes(ctx, 5, 31, func(uint64, []byte) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 3, n)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	err = st.ScanBytes(cancelled, 5, 31, func(uint64, []byte) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
}

func TestDeleteBelow(t *testing.T) {
	chain, _, _ := chains(t)
	ctx := context.Background()
	dir := t.TempDir()
	db, st := openDisk(t, dir)
	require.NoError(t, st.Init(ctx, chain[0]))
	require.NoError(t, st.Append(ctx, chain[1:100]...))

	require.NoError(t, st.DeleteBelow(ctx, 1), "nothing below the base")
	require.NoError(t, st.DeleteBelow(ctx, 40))
	require.EqualValues(t, 40, st.Base())
	for height := uint64(1); height < 40; height++ {
		_, err := st.GetByHeight(ctx, height)
		require.ErrorIs(t, err, header.ErrNotFound)
		ok, err := st.Has(ctx, chain[height-1].Hash())
		require.NoError(t, err)
		require.False(t, ok)
		require.False(t, st.HasAt(ctx, height))
	}
	got, err := st.GetRange(ctx, 40, 101)
	require.NoError(t, err)
	require.Len(t, got, 61)
	_, err = st.GetRange(ctx, 39, 41)
	require.ErrorIs(t, err, header.ErrNotFound)

	require.NoError(t, db.Close())
	db, st = openDisk(t, dir)
	defer db.Close()
	require.EqualValues(t, 40, st.Base(), "the base is on disk")
	require.NoError(t, st.DeleteBelow(ctx, 1000), "never the head")
	require.EqualValues(t, 100, st.Base())
	head, err := st.Head(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 100, head.Height())
	require.NoError(t, st.Append(ctx, chain[100]))

	// The index holds only what is stored.
	n := 0
	iter, err := db.Pebble().NewIter(nil)
	require.NoError(t, err)
	for valid := iter.First(); valid; valid = iter.Next() {
		n++
	}
	require.NoError(t, iter.Close())
	require.Equal(t, 2*2+1, n, "headers 100 and 101, their index entries and the meta")
}

// Readers run while a writer appends; under -race this checks the store's
// synchronisation, and every reader sees a consistent chain.
func TestConcurrentReadsDuringAppends(t *testing.T) {
	chain, _, _ := chains(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := store.Memory()
	defer db.Close()
	st, err := headerstore.New[*types.SignedHeader](db.Pebble(), prefix)
	require.NoError(t, err)
	require.NoError(t, st.Init(ctx, chain[0]))

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				head := st.Height()
				got, err := st.GetRange(ctx, 1, head+1)
				if err != nil {
					errs <- err
					return
				}
				for i, h := range got {
					if h.Height() != uint64(i+1) || (i > 0 && string(h.LastHeader()) != string(got[i-1].Hash())) {
						errs <- errors.New("range is not a chain")
						return
					}
				}
			}
		}()
	}
	// One reader waits for the last height.
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := st.GetByHeight(ctx, uint64(len(chain))); err != nil {
			errs <- err
		}
	}()
	for i := 1; i < len(chain); i += 7 {
		require.NoError(t, st.Append(ctx, chain[i:min(i+7, len(chain))]...))
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.ErrorIs(t, err, context.Canceled)
	}
}

// Headers prepended below the base are stored, found by height and hash,
// survive a restart, and lower the base; headers that
// do not end right below the base, or that the base does not link to, are
// refused with nothing stored.
func TestPrepend(t *testing.T) {
	chain, _, alien := chains(t)
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(dir)
	require.NoError(t, err)
	st, err := headerstore.New[*types.SignedHeader](db.Pebble(), prefix, headerstore.WithSyncEvery(time.Hour))
	require.NoError(t, err)
	require.ErrorIs(t, st.Prepend(ctx, chain[0]), header.ErrNoHead)
	require.NoError(t, st.Init(ctx, chain[299])) // height 300
	require.NoError(t, st.Append(ctx, chain[300:310]...))

	for _, bad := range []struct {
		name string
		hs   []*types.SignedHeader
	}{
		{"a gap below the base", chain[200:298]},
		{"overlapping the base", chain[250:300]},
		{"another chain's headers", alien[250:299]},
		{"the right top, a foreign header under it", append([]*types.SignedHeader{alien[296]}, chain[297:299]...)},
		{"out of order", []*types.SignedHeader{chain[298], chain[297]}},
	} {
		require.ErrorIs(t, st.Prepend(ctx, bad.hs...), headerstore.ErrNotBelowBase, bad.name)
		require.EqualValues(t, 300, st.Base(), bad.name)
	}

	require.NoError(t, st.Prepend(ctx, chain[199:299]...))
	require.NoError(t, st.Prepend(ctx, chain[99:199]...))
	require.EqualValues(t, 100, st.Base())
	require.EqualValues(t, 310, st.Height(), "the head does not move")
	got, err := st.GetRange(ctx, 100, 311)
	require.NoError(t, err)
	require.Len(t, got, 211)
	byHash, err := st.Get(ctx, chain[150].Hash())
	require.NoError(t, err)
	require.EqualValues(t, 151, byHash.Height())

	require.NoError(t, st.Close(ctx))
	require.NoError(t, db.Close())
	db, st = openDisk(t, dir)
	defer db.Close()
	require.EqualValues(t, 100, st.Base())
	got, err = st.GetRange(ctx, 100, 311)
	require.NoError(t, err)
	require.Len(t, got, 211)
	require.NoError(t, st.DeleteBelow(ctx, 250))
	require.EqualValues(t, 250, st.Base())
}
