package p2psync

import (
	"context"
	"log/slog"
	"testing"
	"time"

	hp2p "github.com/celestiaorg/go-header/p2p"
	hstore "github.com/celestiaorg/go-header/store"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/internal/p2ptest"
	"github.com/headersync/headersync/p2psync/peers"
	"github.com/headersync/headersync/types"
)

// Wire compatibility, the other way round from exserver's tests: the
// project's fetcher syncs a range, and the network head, from go-header's
// own ExchangeServer.
func TestFetcherSyncsFromGoHeadersServer(t *testing.T) {
	const n = 700 // more than one range of 512
	gen, err := chaingen.New("gm", n, chaingen.Options{})
	require.NoError(t, err)
	chain, err := gen.Headers(n)
	require.NoError(t, err)

	ctx := context.Background()
	st, err := hstore.NewStore[*types.SignedHeader](dssync.MutexWrap(datastore.NewMapDatastore()))
	require.NoError(t, err)
	require.NoError(t, st.Start(ctx))
	t.Cleanup(func() { require.NoError(t, st.Stop(ctx)) })
	require.NoError(t, st.Init(ctx, chain[0]))
	require.NoError(t, st.Append(ctx, chain[1:]...))
	_, err = st.GetByHeight(ctx, n) // the append is asynchronous: wait for it
	require.NoError(t, err)

	mn, err := mocknet.FullMeshConnected(2)
	require.NoError(t, err)
	t.Cleanup(func() { _ = mn.Close() })
	client, server := mn.Hosts()[0], mn.Hosts()[1]
	srv, err := hp2p.NewExchangeServer[*types.SignedHeader](server, st, hp2p.WithNetworkID[hp2p.ServerParameters]("gm"))
	require.NoError(t, err)
	require.NoError(t, srv.Start(ctx))
	t.Cleanup(func() { require.NoError(t, srv.Stop(ctx)) })
	proto := Headers.ProtocolID("gm")
	p2ptest.RecordServes(t, client, server.ID(), protocol.ID(proto))

	rep := peers.NewReputation(func(p peer.ID, reason error) { t.Errorf("banned honest go-header server %s: %v", p, reason) }, nil)
	f := newFetcher[*types.SignedHeader](nil, peers.NewClient[*types.SignedHeader](client, protocol.ID(proto), nil, rep, 5*time.Second),
		gen.Genesis, func() uint64 { return n }, fetchConfig{RequestSize: 128, RequestTimeout: 5 * time.Second, RetryMin: time.Millisecond, RetryMax: time.Millisecond},
		slog.New(slog.DiscardHandler))
	t.Cleanup(f.close)

	head, err := f.Head(ctx)
	require.NoError(t, err)
	require.Equal(t, chain[n-1].Hash(), head.Hash())

	got, err := f.GetRangeByHeight(ctx, fresh(chain[:1])[0], n+1)
	require.NoError(t, err)
	require.Len(t, got, n-1)
	for i, h := range got {
		require.Equal(t, chain[i+1].Hash(), h.Hash(), "height %d", h.Height())
	}
}
