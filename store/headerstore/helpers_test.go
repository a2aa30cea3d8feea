package headerstore_test

import (
	"context"
	"sync"
	"testing"

	"github.com/celestiaorg/go-header"
	hstore "github.com/celestiaorg/go-header/store"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/store/headerstore"
	"github.com/headersync/headersync/types"
)

const prefix = "headerEx"

// chains are signed once per process and shared: signing is the slow part.
var (
	chainsOnce sync.Once
	headers    []*types.SignedHeader
	blocks     []*types.Block
	alien      []*types.SignedHeader // another key's chain of the same ID
	alienBlks  []*types.Block
	chainsErr  error
)

const chainLen = 600

func chains(t testing.TB) ([]*types.SignedHeader, []*types.Block, []*types.SignedHeader) {
	t.Helper()
	chainsOnce.Do(func() {
		g, err := chaingen.New("headerstore-test", chainLen, chaingen.Options{})
		if err != nil {
			chainsErr = err
			return
		}
		if headers, chainsErr = g.Headers(chainLen); chainsErr != nil {
			return
		}
		g, err = chaingen.New("headerstore-test", chainLen, chaingen.Options{})
		if err != nil {
			chainsErr = err
			return
		}
		if blocks, chainsErr = g.Blocks(chainLen); chainsErr != nil {
			return
		}
		g, err = chaingen.New("headerstore-test", chainLen, chaingen.Options{})
		if err != nil {
			chainsErr = err
			return
		}
		if alien, chainsErr = g.Headers(chainLen); chainsErr != nil {
			return
		}
		g, err = chaingen.New("headerstore-test", chainLen, chaingen.Options{})
		if err != nil {
			chainsErr = err
			return
		}
		alienBlks, chainsErr = g.Blocks(chainLen)
	})
	require.NoError(t, chainsErr)
	return headers, blocks, alien
}

// fixture is a chain to store and another chain of the same heights that
// does not extend it.
type fixture[H header.Header[H]] struct {
	chain, alien []H
}

func headerFixture(t testing.TB) fixture[*types.SignedHeader] {
	h, _, a := chains(t)
	return fixture[*types.SignedHeader]{chain: h, alien: a}
}

func blockFixture(t testing.TB) fixture[*types.Block] {
	_, b, _ := chains(t)
	return fixture[*types.Block]{chain: b, alien: alienBlks}
}

// impl opens one implementation of header.Store on a database directory.
type impl[H header.Header[H]] struct {
	name string
	open func(t testing.TB, dir string) (header.Store[H], func())
}

func impls[H header.Header[H]]() []impl[H] {
	return []impl[H]{
		{name: "go-header", open: openGoHeader[H]},
		{name: "headerstore", open: openNew[H]},
	}
}

// openGoHeader opens go-header's store over the node's datastore, as the
// service does today.
func openGoHeader[H header.Header[H]](t testing.TB, dir string) (header.Store[H], func()) {
	t.Helper()
	db, err := store.Open(dir)
	require.NoError(t, err)
	st, err := hstore.NewStore[H](db, hstore.WithStorePrefix(prefix))
	require.NoError(t, err)
	require.NoError(t, st.Start(context.Background()))
	// go-header learns its height from the first Head.
	_, _ = st.Head(context.Background())
	return st, func() {
		require.NoError(t, st.Stop(context.Background()))
		require.NoError(t, db.Close())
	}
}

func openNew[H header.Header[H]](t testing.TB, dir string) (header.Store[H], func()) {
	t.Helper()
	db, err := store.Open(dir)
	require.NoError(t, err)
	st, err := headerstore.New[H](db.Pebble(), prefix)
	require.NoError(t, err)
	return st, func() { require.NoError(t, db.Close()) }
}
