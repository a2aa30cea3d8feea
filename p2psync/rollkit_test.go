package p2psync_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
	"github.com/headersync/headersync/types/rollkit"
)

// rollkitChain is a rollkit v0.13 chain: its genesis and n headers with
// their blocks, signed as a rollkit sequencer signs, ending in the past.
func rollkitChain(t *testing.T, n int) (*types.Genesis, []*rollkit.Block) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s := rollkit.NewSigner(priv)
	g := &types.Genesis{ChainID: chainID, InitialHeight: 1, GenesisTime: time.Now().Add(-time.Hour).UTC(),
		SequencerPubKey: s.PublicKey(), Format: types.FormatRollkit013}
	require.NoError(t, g.Validate())
	blocks, err := s.Chain(chainID, n, time.Now().Add(-time.Duration(n+1)*time.Millisecond), time.Millisecond,
		func(i int) types.Data { return types.Data{Txs: [][]byte{{byte(i)}, []byte("tx")}} })
	require.NoError(t, err)
	return g, blocks
}

// rollkit's names: topics, exchange protocols and message IDs.
func TestRollkitNames(t *testing.T) {
	g := &types.Genesis{ChainID: "rk", Format: types.FormatRollkit013}
	h, b := p2psync.Headers.NamesOf(g), p2psync.Blocks.NamesOf(g)
	require.Equal(t, "/rk-headerSync/header-sub/v0.0.1", h.Topic)
	require.Equal(t, "/rk-headerSync/header-ex/v0.0.3", string(h.Protocol))
	require.Equal(t, "/rk-blockSync/header-sub/v0.0.1", b.Topic)
	require.Equal(t, "/rk-blockSync/header-ex/v0.0.3", string(b.Protocol))
	native := p2psync.Headers.NamesOf(&types.Genesis{ChainID: "rk"})
	require.Equal(t, "/rk/header-sub/v0.0.1", native.Topic)
	require.Equal(t, p2psync.Headers.TopicID("rk"), native.Topic)
}

// A rollkit-format chain syncs between two services over libp2p as a
// native one does: catch-up over several ranges (linked verification of
// rollkit's hashes) and gossip after it, on rollkit's network names.
func TestRollkitFormatCatchUpAndGossip(t *testing.T) {
	const n, more = 700, 5
	g, blocks := rollkitChain(t, n+more)
	ctx := context.Background()

	src := newPeer(t, peerOpts{})
	seqHeaders := startSequencerService[*rollkit.SignedHeader](t, src, p2psync.Headers, g, serviceOpts{sequencer: true})
	seqBlocks := startSequencerService[*rollkit.Block](t, src, p2psync.Blocks, g, serviceOpts{sequencer: true})
	for _, b := range blocks[:n] {
		require.NoError(t, seqBlocks.Publish(ctx, b))
		require.NoError(t, seqHeaders.Publish(ctx, b.SignedHeader()))
	}

	dst := newPeer(t, peerOpts{seeds: []string{src.addr()}})
	waitConnectedServing(t, dst, src.id(), p2psync.Headers.NamesOf(g), p2psync.Blocks.NamesOf(g))
	headers := startService[*rollkit.SignedHeader](t, dst, p2psync.Headers, g, serviceOpts{requestSize: 128})
	blocksSvc := startService[*rollkit.Block](t, dst, p2psync.Blocks, g, serviceOpts{requestSize: 128})
	waitHead(t, headers, blocks[n-1].Hash())
	waitHead(t, blocksSvc, blocks[n-1].Hash())

	// Gossip: the topic is rollkit's, and the headers arrive by it once
	// the source knows the node subscribes to it.
	topic := p2psync.Headers.NamesOf(g).Topic
	require.Contains(t, dst.client.PubSub().GetTopics(), topic)
	require.Eventually(t, func() bool { return slices.Contains(src.client.PubSub().ListPeers(topic), dst.id()) }, waitFor, tick)
	// ... and has it in its mesh (gossipsub protects a mesh peer's
	// connection under this tag): a header published earlier may be lost.
	require.Eventually(t, func() bool {
		return src.client.Host().ConnManager().IsProtected(dst.id(), "pubsub:"+topic)
	}, waitFor, tick, "the node never joins the source's mesh")
	for _, b := range blocks[n:] {
		require.NoError(t, seqBlocks.Publish(ctx, b))
		require.NoError(t, seqHeaders.Publish(ctx, b.SignedHeader()))
	}
	waitHead(t, headers, blocks[n+more-1].Hash())
	waitHead(t, blocksSvc, blocks[n+more-1].Hash())
	// They come by gossip on rollkit's topic too: accepted, or ignored
	// when the syncer's own head requests (the chain's times are past) got
	// them first.
	require.Eventually(t, func() bool {
		gossip := headers.State(ctx).Gossip
		return gossip.Accepted+gossip.Ignored > 0
	}, waitFor, tick, "no header came by gossip")

	for _, h := range []uint64{1, n / 2, n + more} {
		got, err := headers.GetByHeight(ctx, h)
		require.NoError(t, err)
		require.Equal(t, blocks[h-1].Hash(), got.Hash(), "height %d", h)
		b, err := blocksSvc.GetByHeight(ctx, h)
		require.NoError(t, err)
		require.Equal(t, blocks[h-1].Data(), b.Data(), "height %d", h)
	}
}

// A rollkit-format node that starts at the network head and keeps a
// window fills it backwards by rollkit's hash links (rollkit.LinkBelow);
// one given a trusted hash starts at that header.
func TestRollkitFormatWindowAndTrustedHash(t *testing.T) {
	const n, retain = 600, 300
	g, blocks := rollkitChain(t, n)
	ctx := context.Background()
	src := newPeer(t, peerOpts{})
	seq := startSequencerService[*rollkit.SignedHeader](t, src, p2psync.Headers, g, serviceOpts{sequencer: true})
	for _, b := range blocks {
		require.NoError(t, seq.Publish(ctx, b.SignedHeader()))
	}
	dst := newPeer(t, peerOpts{seeds: []string{src.addr()}})
	waitConnectedServing(t, dst, src.id(), p2psync.Headers.NamesOf(g))
	svc := startService[*rollkit.SignedHeader](t, dst, p2psync.Headers, g,
		serviceOpts{syncFrom: p2psync.SyncFromHead, retain: retain, requestSize: 64})
	waitHead(t, svc, blocks[n-1].Hash())
	require.Eventually(t, func() bool { return svc.Base() == n-retain+1 }, waitFor, tick, "the window is never filled")
	for h := uint64(n - retain + 1); h <= n; h++ {
		got, err := svc.GetByHeight(ctx, h)
		require.NoError(t, err)
		require.Equal(t, blocks[h-1].Hash(), got.Hash(), "height %d", h)
	}

	// A trusted hash (a CometBFT hash) starts another node at its header.
	third := newPeer(t, peerOpts{seeds: []string{src.addr()}})
	waitConnectedServing(t, third, src.id(), p2psync.Headers.NamesOf(g))
	trusted := startService[*rollkit.SignedHeader](t, third, p2psync.Headers, g, serviceOpts{trustedHash: blocks[199].Hash()})
	waitHead(t, trusted, blocks[n-1].Hash())
	require.Equal(t, uint64(200), trusted.Base())
}

// waitConnectedServing waits until p is connected to other and knows it
// serves each of the exchanges.
func waitConnectedServing(t *testing.T, p *testPeer, other peer.ID, names ...p2psync.Names) {
	t.Helper()
	h := p.client.Host()
	require.Eventually(t, func() bool {
		if h.Network().Connectedness(other) != network.Connected {
			return false
		}
		for _, n := range names {
			if protos, err := h.Peerstore().SupportsProtocols(other, n.Protocol); err != nil || len(protos) == 0 {
				return false
			}
		}
		return true
	}, waitFor, tick)
}
