package p2psync_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
)

// gossiper publishes raw bytes on a sync topic without validating them, as a
// malicious or broken peer would.
type gossiper struct {
	t     *testing.T
	peer  *testPeer
	topic *pubsub.Topic
}

func newGossiper(t *testing.T, topicID string, o peerOpts) *gossiper {
	t.Helper()
	p := newPeer(t, o)
	topic, err := p.client.PubSub().Join(topicID)
	require.NoError(t, err)
	t.Cleanup(func() { _ = topic.Close() })
	return &gossiper{t: t, peer: p, topic: topic}
}

// waitMeshed waits until the gossiper sees victim on its topic.
func (g *gossiper) waitMeshed(victim *testPeer) {
	g.t.Helper()
	require.Eventually(g.t, func() bool {
		return slices.Contains(g.topic.ListPeers(), victim.id())
	}, waitFor, tick, "gossiper never saw the victim on the topic")
}

func (g *gossiper) send(h interface{ MarshalBinary() ([]byte, error) }) {
	g.t.Helper()
	bz, err := h.MarshalBinary()
	require.NoError(g.t, err)
	require.NoError(g.t, g.topic.Publish(context.Background(), bz))
}

// A first header signed by a key other than the genesis key — offered by
// gossip and by exchange — is never stored; the peer serving it is banned,
// and the honest chain still syncs once its sequencer appears.
func TestForeignFirstHeaderIsNeverTrusted(t *testing.T) {
	honest := newGenerator(t, 120)
	fork := newGenerator(t, 200) // same chain ID and initial height, another key
	forkHeaders, err := fork.Headers(150)
	require.NoError(t, err)

	// An adversary serving a longer fork over the exchange...
	adversary := startSequencer(t, fork, peerOpts{}, false)
	for _, h := range forkHeaders {
		require.NoError(t, adversary.headers.Publish(context.Background(), h))
	}
	// ...and one gossiping it.
	topic := p2psync.Headers.TopicID(chainID)
	spammer := newGossiper(t, topic, peerOpts{})

	// The victim starts before the honest sequencer exists.
	seqKey, seqPort := newKey(t), freePort(t)
	victimPeer := newPeer(t, peerOpts{seeds: []string{adversary.peer.addr(), spammer.peer.addr(), seedAddr(t, seqKey, seqPort)}})
	victim := headerService(t, victimPeer, honest.Genesis, serviceOpts{})

	// Exchange: the adversary is asked for the genesis header and banned.
	require.Eventually(t, func() bool {
		return slices.Contains(victimPeer.client.ConnectionGater().ListBlockedPeers(), adversary.peer.id())
	}, waitFor, tick, "adversary serving a foreign genesis was never banned")
	require.False(t, victimPeer.connectedTo(adversary.peer))

	// Gossip: the foreign genesis header is rejected.
	spammer.waitMeshed(victimPeer)
	spammer.send(forkHeaders[0])
	require.Eventually(t, func() bool { return victim.State(context.Background()).Gossip.Rejected >= 1 }, waitFor, tick)
	require.False(t, victim.Initialised())

	// The honest sequencer appears; the victim syncs the honest chain.
	seq := startSequencer(t, honest, peerOpts{key: seqKey, port: seqPort}, false)
	seq.publish(100)
	waitHead(t, victim, seq.head().Hash())

	// More fork gossip after initialisation is rejected too.
	rejected := victim.State(context.Background()).Gossip.Rejected
	spammer.send(forkHeaders[100])
	require.Eventually(t, func() bool { return victim.State(context.Background()).Gossip.Rejected > rejected }, waitFor, tick)
	seq.publish(5)
	waitHead(t, victim, seq.head().Hash())

	requireSameChain(t, seq, victim, 1)
	// The fork headers the victim is known to have received — the first,
	// over the exchange (its sender was banned for it) and by gossip, and
	// header 101 by gossip (each counted rejected above) — are not stored;
	// nor is any other of the fork's.
	ctx := context.Background()
	for _, h := range []*types.SignedHeader{forkHeaders[0], forkHeaders[100]} {
		_, err := victim.Get(ctx, h.Hash())
		require.ErrorIs(t, err, header.ErrNotFound, "fork header %d, delivered, was stored", h.Height())
	}
	for _, h := range forkHeaders {
		_, err := victim.Get(ctx, h.Hash())
		require.ErrorIs(t, err, header.ErrNotFound, "fork header %d was stored", h.Height())
	}
}

// Invalid gossip — a bad signature, another chain ID, a broken link — is
// rejected and never stored; the honest header at the same height is.
func TestInvalidGossipIsRejected(t *testing.T) {
	gen := newGenerator(t, 40)
	seq := startSequencer(t, gen, peerOpts{}, false)
	seq.publish(10)

	victimPeer := newPeer(t, peerOpts{seeds: []string{seq.peer.addr()}})
	victim := headerService(t, victimPeer, gen.Genesis, serviceOpts{})
	waitHead(t, victim, seq.head().Hash())

	attacker := newGossiper(t, p2psync.Headers.TopicID(chainID), peerOpts{seeds: []string{victimPeer.addr()}})
	attacker.waitMeshed(victimPeer)

	// Forge three variants of header 11, each wrong in one way.
	head := seq.head()
	data := types.Data{}
	next := types.NextHeader(head, head.Time().Add(blockTime), &data)
	sign := func(h types.Header) *types.SignedHeader {
		sh, err := gen.Signer.Sign(h)
		require.NoError(t, err)
		return sh
	}
	good := sign(next)
	badSig := types.NewSignedHeader(next, flip(good.Signature()), good.Signer())
	otherChain := next
	otherChain.ChainID = "other"
	brokenLink := next
	brokenLink.LastHeaderHash = bytes.Repeat([]byte{7}, 32)
	forged := []*types.SignedHeader{badSig, sign(otherChain), sign(brokenLink)}

	before := victim.State(context.Background()).Gossip.Rejected
	for _, f := range forged {
		attacker.send(f)
	}
	// The bad signature dies in go-header's own Validate; the other two
	// reach our verifier and are rejected there.
	require.Eventually(t, func() bool { return victim.State(context.Background()).Gossip.Rejected >= before+2 }, waitFor, tick)
	require.Equal(t, head.Height(), victim.Height())

	// Valid headers that are late, or ahead of the victim's clock, are
	// ignored: the peer relaying them is not at fault.
	ignored := victim.State(context.Background()).Gossip.Ignored
	rejected := victim.State(context.Background()).Gossip.Rejected
	// The late header goes out with an unknown field appended, so gossip
	// does not drop it as a message already seen; it decodes to header 5.
	late, err := seq.at(5).MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, attacker.topic.Publish(context.Background(), append(late, 0x78, 0x01)))
	future, err := gen.Signer.Sign(types.NextHeader(head, time.Now().Add(time.Hour), &data))
	require.NoError(t, err)
	attacker.send(future)
	require.Eventually(t, func() bool { return victim.State(context.Background()).Gossip.Ignored >= ignored+2 }, waitFor, tick)
	require.Equal(t, rejected, victim.State(context.Background()).Gossip.Rejected)
	require.Zero(t, victim.State(context.Background()).Gossip.Conflicting, "a late copy of a stored header is no conflict")

	// A second header the sequencer key signed at stored height 5 is
	// equivocation: ignored (the relayer is not at fault), never stored,
	// and counted and logged for the operator.
	otherData := types.Data{Txs: [][]byte{[]byte("another block 5")}}
	equivocation := sign(types.NextHeader(seq.at(4), seq.at(4).Time().Add(time.Millisecond), &otherData))
	attacker.send(equivocation)
	require.Eventually(t, func() bool { return victim.State(context.Background()).Gossip.Conflicting == 1 }, waitFor, tick)
	require.Equal(t, rejected, victim.State(context.Background()).Gossip.Rejected)
	forged = append(forged, equivocation)

	seq.publish(3)
	waitHead(t, victim, seq.head().Hash())
	requireSameChain(t, seq, victim, 1)
	for _, f := range forged {
		_, err := victim.Get(context.Background(), f.Hash())
		require.ErrorIs(t, err, header.ErrNotFound)
	}
}

func flip(b []byte) []byte {
	out := bytes.Clone(b)
	out[0] ^= 1
	return out
}
