package exserver

import (
	"context"
	"sync"
	"testing"

	hp2p "github.com/celestiaorg/go-header/p2p"
	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/store/headerstore"
	"github.com/headersync/headersync/types"
)

// prunedStore is a headerstore.Store in a pebble database on disk holding
// chain, with the headers below base deleted, as a node keeping a window
// leaves it.
func prunedStore(t *testing.T, chain []*types.SignedHeader, base uint64) *headerstore.Store[*types.SignedHeader] {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	st, err := headerstore.New[*types.SignedHeader](db.Pebble(), "headerEx")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close(context.Background())) })
	require.NoError(t, st.Init(ctx, chain[0]))
	require.NoError(t, st.Append(ctx, chain[1:]...))
	require.NoError(t, st.DeleteBelow(ctx, base))
	require.Equal(t, base, st.Base())
	return st
}

// heightsOf decodes an OK answer's headers and returns their heights.
func heightsOf(t *testing.T, msgs []*p2p_pb.HeaderResponse) []uint64 {
	t.Helper()
	var out []uint64
	for _, m := range msgs {
		require.Equal(t, p2p_pb.StatusCode_OK, m.StatusCode)
		var sh types.SignedHeader
		require.NoError(t, sh.UnmarshalBinary(m.Body))
		out = append(out, sh.Height())
	}
	return out
}

// span returns the heights [from, to).
func span(from, to uint64) []uint64 {
	var out []uint64
	for h := from; h < to; h++ {
		out = append(out, h)
	}
	return out
}

// TestPrunedStoreAnswersBelowTheBaseNotFound: a store that keeps heights
// 41..100 answers every request that reaches below 41 with NOT_FOUND, never
// with the part of the range it holds: an answer that does not begin at
// the height asked for is a fault its peer bans it for, and NOT_FOUND sends
// the peer to another node for those heights. It gives the answers
// go-header's own server gives from the same store.
func TestPrunedStoreAnswersBelowTheBaseNotFound(t *testing.T) {
	const base = 41
	chain := makeChain(t, 100)
	st := prunedStore(t, chain, base)
	srvHost, client := newHost(t), newHost(t)
	connect(t, client, srvHost)
	startServer(t, srvHost, "ex", st)
	theirs, err := hp2p.NewExchangeServer[*types.SignedHeader](srvHost, st, hp2p.WithNetworkID[hp2p.ServerParameters]("gh"))
	require.NoError(t, err)
	require.NoError(t, theirs.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, theirs.Stop(context.Background())) })

	origin := func(o, amount uint64) *p2p_pb.HeaderRequest {
		return &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: o}, Amount: amount}
	}
	byHash := func(h []byte) *p2p_pb.HeaderRequest {
		return &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Hash{Hash: h}, Amount: 1}
	}
	cases := []struct {
		name    string
		req     *p2p_pb.HeaderRequest
		heights []uint64 // nil: NOT_FOUND
	}{
		{"the first height", origin(1, 1), nil},
		{"the start of the chain", origin(1, 10), nil},
		{"just below the base", origin(base-1, 1), nil},
		{"across the base by one", origin(base-1, 2), nil},
		{"across the base", origin(30, 20), nil},
		{"across the base and past the head", origin(30, 512), nil},
		{"from the first height to the head", origin(1, 100), nil},
		{"by hash, pruned", byHash(chain[9].Hash()), nil},
		{"by hash, just below the base", byHash(chain[base-2].Hash()), nil},
		{"at the base", origin(base, 5), span(base, base+5)},
		{"the base alone", origin(base, 1), span(base, base+1)},
		{"the whole window", origin(base, 60), span(base, 101)},
		{"past the head, cut there as before", origin(95, 20), span(95, 101)},
		{"by hash, the base", byHash(chain[base-1].Hash()), []uint64{base}},
		{"the head", origin(0, 1), []uint64{100}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := encodeRequest(t, tc.req)
			ours := ask(t, client, srvHost.ID(), ProtocolID("ex"), raw, false)
			require.False(t, ours.reset, "%v", ours)
			msgs := ours.messages(t)
			if tc.heights == nil {
				require.Len(t, msgs, 1, "one NOT_FOUND, nothing else")
				require.Equal(t, p2p_pb.StatusCode_NOT_FOUND, msgs[0].StatusCode)
				require.Empty(t, msgs[0].Body)
			} else {
				require.Equal(t, tc.heights, heightsOf(t, msgs))
			}

			gh := ask(t, client, srvHost.ID(), ProtocolID("gh"), raw, false)
			require.Equal(t, gh.reset, ours.reset, "stream reset: go-header %v, exserver %v", gh, ours)
			require.Equal(t, gh.raw, ours.raw, "answers differ: go-header %v, exserver %v", gh, ours)
		})
	}
}

// TestPruningWhileServing: while the base rises under it, one height at a
// time, every range answer is still either NOT_FOUND or exactly the headers
// asked for from the height asked for: a scan begun before a deletion
// reads the store as it was (pebble's iterator is a snapshot), and one
// begun after sees the new base.
func TestPruningWhileServing(t *testing.T) {
	const (
		firstBase = 11
		lastBase  = 180
		amount    = 16
	)
	chain := makeChain(t, 200)
	st := prunedStore(t, chain, firstBase)
	srvHost, client := newHost(t), newHost(t)
	connect(t, client, srvHost)
	startServer(t, srvHost, "ex", st)

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	var (
		wg       sync.WaitGroup
		pruneErr error
	)
	defer func() {
		cancel()
		wg.Wait() // before the store closes, whatever failed
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for b := uint64(firstBase + 1); b <= lastBase; b++ {
			if pruneErr = st.DeleteBelow(ctx, b); pruneErr != nil {
				return
			}
		}
	}()

	var found, notFound int
	for st.Base() < lastBase || found == 0 || notFound == 0 {
		require.NoError(t, ctx.Err(), "pruned to %d; %d ranges found, %d not", st.Base(), found, notFound)
		// Ask at the base as it was a moment ago: it may have risen since.
		from := st.Base()
		r := askRange(t, client, srvHost, from, amount)
		if len(r) == 1 && r[0].StatusCode == p2p_pb.StatusCode_NOT_FOUND {
			notFound++
			continue
		}
		require.Equal(t, span(from, from+amount), heightsOf(t, r), "a range is whole, from the height asked for")
		found++
		if st.Base() == lastBase {
			// The base no longer moves: a range below it is not found.
			r := askRange(t, client, srvHost, lastBase-1, amount)
			require.Len(t, r, 1)
			require.Equal(t, p2p_pb.StatusCode_NOT_FOUND, r[0].StatusCode)
			notFound++
		}
	}
	wg.Wait()
	require.NoError(t, pruneErr)
	t.Logf("%d ranges served whole, %d not found while the base rose from %d to %d", found, notFound, firstBase, lastBase)
}

// askRange asks srv for amount headers from from and returns the answer,
// which must end cleanly.
func askRange(t *testing.T, client, srv host.Host, from, amount uint64) []*p2p_pb.HeaderResponse {
	t.Helper()
	raw := encodeRequest(t, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: from}, Amount: amount})
	r := ask(t, client, srv.ID(), ProtocolID("ex"), raw, false)
	require.False(t, r.reset, "%v", r)
	return r.messages(t)
}
