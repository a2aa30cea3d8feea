package p2psync_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
)

func TestProtocolAndTopicStrings(t *testing.T) {
	require.Equal(t, "/gm/header-sub/v0.0.1", p2psync.Headers.TopicID("gm"))
	require.Equal(t, "/gm/header-ex/v0.0.3", p2psync.Headers.ProtocolID("gm"))
	require.Equal(t, "/gm-block/header-sub/v0.0.1", p2psync.Blocks.TopicID("gm"))
	require.Equal(t, "/gm-block/header-ex/v0.0.3", p2psync.Blocks.ProtocolID("gm"))
	require.Equal(t, "headerEx", p2psync.Headers.StorePrefix())
	require.Equal(t, "blockEx", p2psync.Blocks.StorePrefix())

	// The running services use exactly these strings on the wire. They join
	// the topics at once; they serve the exchange once they have a chain.
	gen := newGenerator(t, 1)
	seq := startSequencer(t, gen, peerOpts{}, true)
	topics := seq.peer.client.PubSub().GetTopics()
	require.Contains(t, topics, "/gm/header-sub/v0.0.1")
	require.Contains(t, topics, "/gm-block/header-sub/v0.0.1")
	require.NotContains(t, seq.peer.client.Host().Mux().Protocols(), protocol.ID("/gm/header-ex/v0.0.3"),
		"an empty store has nothing to serve")
	seq.publish(1)
	protocols := seq.peer.client.Host().Mux().Protocols()
	require.Contains(t, protocols, protocol.ID("/gm/header-ex/v0.0.3"))
	require.Contains(t, protocols, protocol.ID("/gm-block/header-ex/v0.0.3"))
}

// A full node started after the sequencer published 200 headers catches up;
// a light node started before the sequencer existed (nothing anywhere yet)
// waits, then catches up too.
func TestCatchUpAndStartBeforeSequencer(t *testing.T) {
	gen := newGenerator(t, 220)
	seqKey, seqPort := newKey(t), freePort(t)
	seqAddr := seedAddr(t, seqKey, seqPort)

	lightPeer := newPeer(t, peerOpts{seeds: []string{seqAddr}})
	light := headerService(t, lightPeer, gen.Genesis, serviceOpts{})
	st := light.State(context.Background())
	require.False(t, st.Initialised)
	require.Equal(t, "genesis", st.WaitingFor)

	seq := startSequencer(t, gen, peerOpts{key: seqKey, port: seqPort}, false)
	seq.publish(200)

	fullPeer := newPeer(t, peerOpts{seeds: []string{seq.peer.addr()}})
	full := headerService(t, fullPeer, gen.Genesis, serviceOpts{})

	waitHead(t, full, seq.head().Hash())
	waitHead(t, light, seq.head().Hash())
	requireSameChain(t, seq, full, 1)
	requireSameChain(t, seq, light, 1)

	// New blocks keep flowing by gossip.
	seq.publish(5)
	waitHead(t, full, seq.head().Hash())
	waitHead(t, light, seq.head().Hash())

	st = full.State(context.Background())
	require.True(t, st.Initialised)
	require.Empty(t, st.WaitingFor)
	require.Equal(t, seq.head().Height(), st.Height)
	require.NotNil(t, st.Syncer)
	require.GreaterOrEqual(t, st.ExchangePeers, 1)
}

// A node given the hash of header 50 starts from it, syncs to the head and
// holds nothing below 50.
func TestTrustedHash(t *testing.T) {
	gen := newGenerator(t, 120)
	seq := startSequencer(t, gen, peerOpts{}, false)
	seq.publish(100)

	trusted := seq.at(50)
	p := newPeer(t, peerOpts{seeds: []string{seq.peer.addr()}})
	svc := headerService(t, p, gen.Genesis, serviceOpts{trustedHash: trusted.Hash()})
	waitHead(t, svc, seq.head().Hash())
	requireSameChain(t, seq, svc, 50)

	ctx := context.Background()
	for _, h := range []uint64{1, 49} {
		_, err := svc.GetByHeight(ctx, h)
		require.ErrorIs(t, err, header.ErrNotFound, "height %d must not be stored", h)
		_, err = svc.Get(ctx, seq.at(h).Hash())
		require.ErrorIs(t, err, header.ErrNotFound, "header %d must not be stored", h)
	}

	// The store records where it began, so that checks need not be told.
	base, err := p2psync.RecordedBase(ctx, p.ds, p2psync.Headers)
	require.NoError(t, err)
	require.Equal(t, trusted.Hash(), base)
	base, err = p2psync.TrustedBase(ctx, p.ds, p2psync.Headers, nil)
	require.NoError(t, err)
	rep, err := p2psync.VerifyStore[*types.SignedHeader](ctx, p.ds, p2psync.Headers, gen.Genesis, base)
	require.NoError(t, err)
	require.Equal(t, uint64(50), rep.Base)
}

// A sequencer may only publish its own chain, from the genesis height.
func TestPublishRules(t *testing.T) {
	gen := newGenerator(t, 10)
	seq := startSequencer(t, gen, peerOpts{}, false)
	ctx := context.Background()

	// The first header must be at the initial height.
	gen2 := newGenerator(t, 10)
	_, err := gen.NextHeader()
	require.NoError(t, err)
	second, err := gen.NextHeader()
	require.NoError(t, err)
	require.ErrorIs(t, seq.headers.Publish(ctx, second), p2psync.ErrNotFirstHeader)

	// A header signed by another key is refused.
	foreign, err := gen2.NextHeader()
	require.NoError(t, err)
	require.ErrorIs(t, seq.headers.Publish(ctx, foreign), p2psync.ErrNotSequencerKey)

	// A non-sequencer cannot publish: it has no Publish, and New refuses
	// to make a sequencer's service.
	p := newPeer(t, peerOpts{})
	_, err = p2psync.New[*types.SignedHeader](serviceConfig(p, p2psync.Headers, gen.Genesis, serviceOpts{sequencer: true}), p.client, p.ds)
	require.Error(t, err)

	// A gap is refused, and reported as go-header's non-adjacency.
	seq2gen := newGenerator(t, 10)
	seq2 := startSequencer(t, seq2gen, peerOpts{}, false)
	seq2.publish(1)
	_, err = seq2gen.NextHeader()
	require.NoError(t, err)
	skipped, err := seq2gen.NextHeader()
	require.NoError(t, err)
	var nonAdj *header.ErrNonAdjacent
	require.True(t, errors.As(seq2.headers.Publish(ctx, skipped), &nonAdj))
}

// A node that blocks the only peer with headers stays where it is, while a
// node that does not block it syncs.
func TestBlockedPeerIsNeverSyncedFrom(t *testing.T) {
	gen := newGenerator(t, 60)
	seq := startSequencer(t, gen, peerOpts{}, false)
	seq.publish(50)

	blocker := newPeer(t, peerOpts{seeds: []string{seq.peer.addr()}, blocked: []string{seq.peer.id().String()}})
	blocked := headerService(t, blocker, gen.Genesis, serviceOpts{})
	control := newPeer(t, peerOpts{seeds: []string{seq.peer.addr()}})
	ok := headerService(t, control, gen.Genesis, serviceOpts{})

	waitHead(t, ok, seq.head().Hash())
	require.False(t, blocker.connectedTo(seq.peer))
	require.False(t, blocked.Initialised())
	require.Zero(t, blocked.Height())
	require.Equal(t, "genesis", blocked.State(context.Background()).WaitingFor)
}

// Restarting a synced service on the same datastore resumes from its stored
// head at once, then catches up on what it missed.
func TestRestartResumesFromStore(t *testing.T) {
	gen := newGenerator(t, 80)
	seq := startSequencer(t, gen, peerOpts{}, false)
	seq.publish(40)

	p := newPeer(t, peerOpts{seeds: []string{seq.peer.addr()}})
	p.ds = openPebble(t, t.TempDir())
	first := headerService(t, p, gen.Genesis, serviceOpts{})
	waitHead(t, first, seq.head().Hash())
	require.NoError(t, first.Stop(context.Background()))

	seq.publish(30)
	second := headerService(t, p, gen.Genesis, serviceOpts{})
	require.True(t, second.Initialised(), "a stored head initialises at once")
	require.GreaterOrEqual(t, second.Height(), uint64(40), "nothing synced before the restart is lost")
	waitHead(t, second, seq.head().Hash())
	requireSameChain(t, seq, second, 1)
}

// Blocks sync as headers do, under their own prefix; the two stores never
// see each other's keys.
func TestBlockServiceSyncsUnderItsOwnPrefix(t *testing.T) {
	gen := newGenerator(t, 40)
	seq := startSequencer(t, gen, peerOpts{}, true)
	seq.publish(30)

	p := newPeer(t, peerOpts{seeds: []string{seq.peer.addr()}})
	headers := headerService(t, p, gen.Genesis, serviceOpts{})
	blocks := startService[*types.Block](t, p, p2psync.Blocks, gen.Genesis, serviceOpts{})
	waitHead(t, headers, seq.head().Hash())
	waitHead(t, blocks, seq.head().Hash())

	ctx := context.Background()
	for h := uint64(1); h <= seq.head().Height(); h++ {
		b, err := blocks.GetByHeight(ctx, h)
		require.NoError(t, err)
		require.Equal(t, seq.at(h).Hash(), b.Hash())
		require.NoError(t, b.Validate())
		require.Equal(t, seq.history[h-1].Data().Txs, b.Data().Txs)
	}
	// Same hash, different stores: each finds only its own kind.
	hdr, err := headers.Get(ctx, seq.head().Hash())
	require.NoError(t, err)
	require.Equal(t, seq.head().Hash(), hdr.Hash())
	blk, err := blocks.Get(ctx, seq.head().Hash())
	require.NoError(t, err)
	require.Len(t, blk.Data().Txs, 1)

	// Stop both so everything is flushed, then look at the raw keys.
	require.NoError(t, headers.Stop(ctx))
	require.NoError(t, blocks.Stop(ctx))
	keys := allKeys(t, p.ds)
	var headerKeys, blockKeys int
	for _, k := range keys {
		switch {
		case hasPrefix(k, "/headerEx/"):
			headerKeys++
		case hasPrefix(k, "/blockEx/"):
			blockKeys++
		default:
			t.Fatalf("key %s is outside both prefixes", k)
		}
	}
	// Each store holds per header: the value, a height index, plus one head key.
	n := int(seq.head().Height())
	require.Equal(t, 2*n+1, headerKeys)
	require.Equal(t, 2*n+1, blockKeys)
}

// Stop in the middle of waiting for genesis returns promptly and cleanly.
func TestStopWhileWaiting(t *testing.T) {
	gen := newGenerator(t, 1)
	p := newPeer(t, peerOpts{})
	svc, err := p2psync.New[*types.SignedHeader](p2psync.Config{Kind: p2psync.Headers, Genesis: gen.Genesis, BlockTime: blockTime}, p.client, p.ds)
	require.NoError(t, err)
	require.NoError(t, svc.Start(context.Background()))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	began := time.Now()
	require.NoError(t, svc.Stop(ctx))
	require.Less(t, time.Since(began), 2*time.Second, "Stop must not wait for the init loop's backoff")
	require.NoError(t, svc.Stop(ctx), "a second Stop is a no-op")
}
