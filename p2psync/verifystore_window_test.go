package p2psync_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/store/headerstore"
	"github.com/headersync/headersync/types"
)

// deleteBelow deletes the stored headers below height, as a node keeping a
// window does.
func deleteBelow(t *testing.T, ds *store.DB, height uint64) {
	t.Helper()
	st, err := headerstore.New[*types.SignedHeader](ds.Pebble(), p2psync.Headers.StorePrefix())
	require.NoError(t, err)
	require.NoError(t, st.DeleteBelow(context.Background(), height))
	require.Equal(t, height, st.Base())
}

// replaceHeader overwrites the stored header at sh's height with sh, and
// points sh's hash at it in the hash index, as damage or tampering would:
// the store's own checks never let such a header in.
func replaceHeader(t *testing.T, ds *store.DB, old, sh *types.SignedHeader) {
	t.Helper()
	raw, err := sh.MarshalBinary()
	require.NoError(t, err)
	db := ds.Pebble()
	require.NoError(t, db.Delete(indexKey("headerEx", old.Hash()), pebble.Sync))
	require.NoError(t, db.Set(heightKey("headerEx", sh.Height()), raw, pebble.Sync))
	require.NoError(t, db.Set(indexKey("headerEx", sh.Hash()), binary.BigEndian.AppendUint64(nil, sh.Height()), pebble.Sync))
}

// A store that keeps a window (its headers below 101 deleted) passes from
// its base, whatever trusted hash it is checked against: the base header is
// signed by the genesis key and everything above links to it. The report
// says where the window begins.
func TestVerifyStoreWindow(t *testing.T) {
	ctx := context.Background()
	gen := newGenerator(t, 300)
	hs, err := gen.Headers(300)
	require.NoError(t, err)
	at := func(h uint64) *types.SignedHeader { return hs[h-1] }

	fromGenesis := memStore(t)
	importChain(t, fromGenesis, hs)
	deleteBelow(t, fromGenesis, 101)
	fromTrusted := memStore(t) // began at the trusted header 50, then pruned
	importChain(t, fromTrusted, hs[49:])
	deleteBelow(t, fromTrusted, 101)

	cases := []struct {
		name    string
		ds      *store.DB
		trusted []byte
		want    p2psync.StoreReport
	}{
		{"from genesis", fromGenesis, nil, p2psync.StoreReport{Base: 101, Head: 300, Begin: 1}},
		{"trusted header pruned", fromTrusted, at(50).Hash(), p2psync.StoreReport{Base: 101, Head: 300, Begin: 0}},
		{"trusted header pruned, checked without it", fromTrusted, nil, p2psync.StoreReport{Base: 101, Head: 300, Begin: 1}},
		{"trusted header is the base", fromGenesis, at(101).Hash(), p2psync.StoreReport{Base: 101, Head: 300, Begin: 101}},
		{"trusted header above the base", fromGenesis, at(150).Hash(), p2psync.StoreReport{Base: 101, Head: 300, Begin: 150}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := p2psync.VerifyStore[*types.SignedHeader](ctx, tc.ds, p2psync.Headers, gen.Genesis, tc.trusted)
			require.NoError(t, err)
			require.Equal(t, tc.want, rep)
			require.Equal(t, tc.want.Base > tc.want.Begin, rep.Windowed())
		})
	}

	// A window of one header: the head alone.
	single := memStore(t)
	importChain(t, single, hs[:20])
	deleteBelow(t, single, 20)
	rep, err := p2psync.VerifyStore[*types.SignedHeader](ctx, single, p2psync.Headers, gen.Genesis, nil)
	require.NoError(t, err)
	require.Equal(t, p2psync.StoreReport{Base: 20, Head: 20, Begin: 1}, rep)
}

// The rules where the chain begins still hold: a chain stored from the
// genesis initial height is the genesis chain, so it must hold the trusted
// header it is checked against; and a store whose base header is not
// signed by the genesis key fails, though the headers above it link to it.
func TestVerifyStoreWindowRefuses(t *testing.T) {
	ctx := context.Background()
	gen := newGenerator(t, 120)
	hs, err := gen.Headers(120)
	require.NoError(t, err)
	at := func(h uint64) *types.SignedHeader { return hs[h-1] }
	verify := func(ds *store.DB, trusted []byte) error {
		_, err := p2psync.VerifyStore[*types.SignedHeader](ctx, ds, p2psync.Headers, gen.Genesis, trusted)
		return err
	}

	t.Run("a chain from genesis without the trusted header", func(t *testing.T) {
		other := newGenerator(t, 10)
		foreign, err := other.Headers(10)
		require.NoError(t, err)
		ds := memStore(t)
		importChain(t, ds, hs)
		err = verify(ds, foreign[4].Hash())
		require.ErrorIs(t, err, p2psync.ErrCorruptStore)
		require.ErrorIs(t, err, p2psync.ErrNotFirstHeader)
		require.ErrorContains(t, err, fmt.Sprintf("corrupt store: the header chain begins at 1: not the expected first header: "+
			"the chain holds every header from the genesis initial height 1, but not the trusted header %x", []byte(foreign[4].Hash())))
	})

	// The same header, signed by another key: its proposer address, so its
	// hash, changes, and the header above no longer links to it; the key
	// is what the check names.
	other, err := types.GenerateSigner()
	require.NoError(t, err)
	h := at(101).Header()
	h.ProposerAddress = nil
	otherKey, err := other.Sign(h)
	require.NoError(t, err)

	// The genesis key named as signer, with a signature it never made: the
	// hash is unchanged (the signer and signature are in no hash), so the
	// hash link from header 102 still holds; only the signature check
	// finds it.
	forged := types.NewSignedHeader(at(101).Header(), otherKey.Signature(), gen.Genesis.SequencerPubKey)
	require.Equal(t, at(101).Hash(), forged.Hash())

	cases := []struct {
		name string
		base *types.SignedHeader
		is   error
		want string
	}{
		{"signed by another key", otherKey, p2psync.ErrNotSequencerKey,
			fmt.Sprintf("corrupt store: header 101 (base): not signed by the genesis sequencer key: signed by key %x, expected %x",
				[]byte(other.PublicKey()), []byte(gen.Genesis.SequencerPubKey))},
		{"a signature the genesis key never made", forged, types.ErrInvalidSignature,
			"corrupt store: header 101 (base): header 101: signature does not verify"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds := memStore(t)
			importChain(t, ds, hs)
			deleteBelow(t, ds, 101)
			require.NoError(t, verify(ds, nil), "the window passes before the base is replaced")
			replaceHeader(t, ds, at(101), tc.base)

			err := verify(ds, nil)
			require.ErrorIs(t, err, p2psync.ErrCorruptStore)
			require.ErrorIs(t, err, tc.is)
			require.EqualError(t, err, tc.want)

			err = p2psync.CheckStoredEnds[*types.SignedHeader](ctx, ds, p2psync.Headers, gen.Genesis)
			require.ErrorIs(t, err, tc.is, "the start-time check reads the base header too")
			require.ErrorContains(t, err, "stored header 101 (base): ")
		})
	}
}
