package p2psync_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/internal/adversary"
	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/internal/testlog"
	"github.com/headersync/headersync/p2p"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
)

const advHeaders = 1200

// altChains builds the chains the adversary needs for the modes that serve
// headers the honest chain does not have, index for index with it.
func altChains(t *testing.T, honest *chaingen.Generator) map[adversary.Mode][]*types.SignedHeader {
	t.Helper()
	build := func(chainID string, o chaingen.Options) []*types.SignedHeader {
		g, err := chaingen.New(chainID, advHeaders, o)
		require.NoError(t, err)
		hs, err := g.Headers(advHeaders)
		require.NoError(t, err)
		return hs
	}
	key := honest.Signer.PrivateKey()
	return map[adversary.Mode][]*types.SignedHeader{
		adversary.Fork:         build(chainID, chaingen.Options{}),                                           // another key
		adversary.WrongChainID: build("other", chaingen.Options{Key: key}),                                   // the sequencer's key, another chain
		adversary.FutureTime:   build(chainID, chaingen.Options{Key: key, Start: time.Now().Add(time.Hour)}), // the sequencer's key, an hour ahead
	}
}

// servingPeer is an honest node holding hs.
func servingPeer(t *testing.T, gen *chaingen.Generator, hs []*types.SignedHeader) *testPeer {
	t.Helper()
	p := newPeer(t, peerOpts{})
	importChain(t, p.ds, hs)
	headerService(t, p, gen.Genesis, serviceOpts{sequencer: true})
	return p
}

// A node connected to one misbehaving peer and one honest peer syncs the
// honest chain to its head and stores nothing else. A peer whose answers are
// wrong on their face is banned (through the connection gater) and logged
// once; one that stalls is asked last; one that claims to have nothing is
// asked elsewhere; one serving headers from the future is ignored but not
// banned, since the sequencer's clock may be off.
func TestSyncDespiteMisbehavingPeer(t *testing.T) {
	honestGen := newGenerator(t, advHeaders)
	hs, err := honestGen.Headers(advHeaders)
	require.NoError(t, err)
	alts := altChains(t, honestGen)
	honest := servingPeer(t, honestGen, hs)

	cases := []struct {
		mode   adversary.Mode
		banned bool
	}{
		{adversary.BadSignature, true},
		{adversary.Fork, true},
		{adversary.BrokenLink, true},
		{adversary.WrongChainID, true},
		{adversary.FutureTime, false},
		{adversary.OutOfRange, true},
		{adversary.Garbage, true},
		{adversary.Truncated, true},
		{adversary.Oversized, true},
		{adversary.Stall, false},
		{adversary.NotFound, false},
		{adversary.Honest, false},
	}
	for _, tc := range cases {
		t.Run(tc.mode.String(), func(t *testing.T) {
			ctx := context.Background()
			adv, err := adversary.Start(ctx, adversary.Options{ChainID: chainID, Honest: hs, Alt: alts, Mode: tc.mode, Logger: testlog.New(t, slog.LevelWarn)})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, adv.Close()) })

			logger, rec := testlog.NewRecorder(t, slog.LevelInfo)
			victimPeer := newPeer(t, peerOpts{seeds: []string{adv.Addr(), honest.addr()}, logger: logger})
			// Both peers must be known to serve before the catch-up starts:
			// on loopback the honest peer alone finishes it in milliseconds.
			victimPeer.waitServes(p2psync.Headers, adv.Client().Host().ID(), honest.id())
			// Small requests, many of them: the chunks, spread over both
			// peers in random order, reach the adversary for certain.
			victim := headerService(t, victimPeer, honestGen.Genesis, serviceOpts{requestTimeout: time.Second, requestSize: 64})

			waitHead(t, victim, hs[len(hs)-1].Hash())
			requireSameChain(t, &sequencer{gen: honestGen, history: blocksOf(hs)}, victim, 1)
			for _, alt := range alts {
				for _, h := range []*types.SignedHeader{alt[0], alt[len(alt)/2], alt[len(alt)-1]} {
					_, err := victim.Get(ctx, h.Hash())
					require.ErrorIs(t, err, header.ErrNotFound, "a header the adversary made up was stored")
				}
			}
			report, err := p2psync.VerifyStore[*types.SignedHeader](ctx, victimPeer.ds, p2psync.Headers, honestGen.Genesis, nil)
			require.NoError(t, err)
			require.Equal(t, uint64(advHeaders), report.Head)

			require.Positive(t, adv.Served(), "the adversary was never asked anything")
			blocked := slices.Contains(victimPeer.client.ConnectionGater().ListBlockedPeers(), adv.Client().Host().ID())
			require.Equal(t, tc.banned, blocked, "banned")
			if tc.banned {
				require.False(t, victimPeer.connectedTo(&testPeer{client: adv.Client()}))
				require.Equal(t, 1, rec.Count("banned peer", "peer", adv.Client().Host().ID().String()),
					"the ban is logged once, not in a loop")
			}
		})
	}
}

func blocksOf(hs []*types.SignedHeader) []*types.Block {
	out := make([]*types.Block, len(hs))
	for i, h := range hs {
		out[i] = types.NewBlock(h, types.Data{})
	}
	return out
}

// A peer gossiping invalid headers loses gossipsub score with each one until
// the victim ignores everything it sends (graylisted), while honest gossip
// keeps flowing from the sequencer.
func TestGossipSpammerIsGraylisted(t *testing.T) {
	gen := newGenerator(t, 100)
	seq := startSequencer(t, gen, peerOpts{}, false)
	seq.publish(5)

	victimPeer := newPeer(t, peerOpts{seeds: []string{seq.peer.addr()}})
	victim := headerService(t, victimPeer, gen.Genesis, serviceOpts{})
	waitHead(t, victim, seq.head().Hash())

	forger := newGenerator(t, 100) // same chain ID, another key
	forged, err := forger.Headers(20)
	require.NoError(t, err)
	ctx := context.Background()
	spammer, err := adversary.Start(ctx, adversary.Options{ChainID: chainID, Honest: forged, Seeds: []string{victimPeer.addr()}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, spammer.Close()) })
	spamID := spammer.Client().Host().ID()
	require.Eventually(t, func() bool { return spammer.TopicPeers() > 0 }, waitFor, tick)

	for _, h := range forged {
		bz, err := h.MarshalBinary()
		require.NoError(t, err)
		require.NoError(t, spammer.Gossip(ctx, bz))
	}
	require.Eventually(t, func() bool {
		score, ok := victimPeer.client.GossipScore(spamID)
		return ok && score < p2p.GraylistThreshold
	}, waitFor, tick, "the spammer was never graylisted")

	// Honest gossip still arrives.
	seq.publish(3)
	waitHead(t, victim, seq.head().Hash())
	score, _ := victimPeer.client.GossipScore(seq.peer.id())
	require.GreaterOrEqual(t, score, 0.0, "the sequencer's score suffered")
}
