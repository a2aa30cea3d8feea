package p2psync_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ipfs/go-datastore"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/types"
)

func importChain(t *testing.T, ds datastore.Batching, hs []*types.SignedHeader) {
	t.Helper()
	ctx := context.Background()
	im, err := p2psync.NewImporter[*types.SignedHeader](ctx, ds, p2psync.Headers)
	require.NoError(t, err)
	require.NoError(t, im.Append(ctx, hs...))
	require.NoError(t, im.Close(ctx))
}

func TestVerifyStore(t *testing.T) {
	ctx := context.Background()
	gen := newGenerator(t, 300)
	hs, err := gen.Headers(300)
	require.NoError(t, err)
	verify := func(ds datastore.Batching, trusted []byte) (p2psync.StoreReport, error) {
		return p2psync.VerifyStore[*types.SignedHeader](ctx, ds, p2psync.Headers, gen.Genesis, trusted)
	}

	empty, err := verify(store.Memory(), nil)
	require.NoError(t, err)
	require.True(t, empty.Empty)

	ds := store.Memory()
	importChain(t, ds, hs)
	rep, err := verify(ds, nil)
	require.NoError(t, err)
	require.Equal(t, p2psync.StoreReport{From: 1, Head: 300}, rep)

	fromTrusted := store.Memory()
	importChain(t, fromTrusted, hs[99:])
	rep, err = verify(fromTrusted, hs[99].Hash())
	require.NoError(t, err)
	require.Equal(t, p2psync.StoreReport{From: 100, Head: 300}, rep)
	_, err = verify(fromTrusted, nil)
	require.ErrorIs(t, err, p2psync.ErrCorruptStore, "a chain not starting at genesis needs its trusted hash")

	// A missing header in the middle is found.
	holed := store.Memory()
	importChain(t, holed, hs)
	require.NoError(t, holed.Delete(ctx, datastore.NewKey("/headerEx/"+hs[150].Hash().String())))
	_, err = verify(holed, nil)
	require.ErrorIs(t, err, p2psync.ErrCorruptStore)
	require.True(t, strings.Contains(err.Error(), "header 152"), err.Error())

	// A height index naming the wrong header is found.
	misindexed := store.Memory()
	importChain(t, misindexed, hs)
	require.NoError(t, misindexed.Put(ctx, datastore.NewKey("/headerEx/200"), hs[10].Hash()))
	_, err = verify(misindexed, nil)
	require.ErrorIs(t, err, p2psync.ErrCorruptStore)
	require.Contains(t, err.Error(), "height index at 200")

	// Another sequencer's chain is not this chain.
	other := newGenerator(t, 10)
	foreign, err := other.Headers(10)
	require.NoError(t, err)
	alien := store.Memory()
	importChain(t, alien, foreign)
	_, err = verify(alien, nil)
	require.ErrorIs(t, err, p2psync.ErrNotSequencerKey)
}
