package exserver

import (
	"context"
	"testing"
	"time"

	hp2p "github.com/celestiaorg/go-header/p2p"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/conngater"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/types"
)

// TestGoHeaderClientSyncs: go-header's own Exchange client, as any
// go-header peer runs it, syncs a range, the head and headers by hash and
// by height from the server.
func TestGoHeaderClientSyncs(t *testing.T) {
	chain := makeChain(t, 1200)
	srvHost, client := newHost(t), newHost(t)
	st := newHeaderStore(t, chain)
	srv := startServer(t, srvHost, chainID, FromHeaderStore(st))
	connect(t, client, srvHost)

	gater, err := conngater.NewBasicConnectionGater(nil)
	require.NoError(t, err)
	ex, err := hp2p.NewExchange[*types.SignedHeader](client, peer.IDSlice{srvHost.ID()}, gater,
		hp2p.WithNetworkID[hp2p.ClientParameters](chainID), hp2p.WithChainID(chainID))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, ex.Start(ctx))
	defer func() { require.NoError(t, ex.Stop(context.Background())) }()

	head, err := ex.Head(ctx)
	require.NoError(t, err)
	require.Equal(t, chain[len(chain)-1].Hash(), head.Hash())

	// More than one request's worth: the client splits it into 64-header
	// requests and checks every header against the one before.
	// A range session asks only the peers the client tracked when it
	// began, and the client tracks peers in the background after Start:
	// ask again until it knows the server.
	var got []*types.SignedHeader
	eventually(t, func() bool {
		try, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		got, err = ex.GetRangeByHeight(try, chain[0], 1101)
		return err == nil
	}, "a range from go-header's client")
	require.Len(t, got, 1099)
	for i, h := range got {
		require.Equal(t, chain[i+1].Hash(), h.Hash(), "height %d", i+2)
	}

	byHash, err := ex.Get(ctx, chain[500].Hash())
	require.NoError(t, err)
	require.Equal(t, chain[500].Hash(), byHash.Hash())

	byHeight, err := ex.GetByHeight(ctx, 777)
	require.NoError(t, err)
	require.Equal(t, chain[776].Hash(), byHeight.Hash())

	require.Zero(t, srv.Refused())
	// The server counts an answer once it is written, maybe after the
	// client has read it.
	eventually(t, func() bool { return srv.HeadersSent() >= 1099+3 }, "headers sent to be counted")
}
