package rollkit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/rollkit/rollkit/types"
	"github.com/stretchr/testify/require"
)

// syncedLight starts a rollkit broadcaster holding an n-header chain and a
// headersync light node seeded to it, and waits until headersync has the
// whole chain.
func syncedLight(t testing.TB, n int) (*chain, *rkNode, *hsNode) {
	t.Helper()
	c := newChain(t)
	c.extend(t, n, time.Now())
	seq := startRollkit(t, rkOptions{aggregator: true, genesis: c.genesis, name: "sequencer"})
	seq.publish(t, c, 1, c.height())
	hs := startHeadersync(t, hsOptions{role: "light", genesis: c.genesisFile, seeds: []string{seq.addr}, name: "light"})
	hs.waitHeight(t, c.height(), 45*time.Second)
	return c, seq, hs
}

// TestHeadersyncSyncsFromRollkit: a headersync light node in rollkit format,
// seeded to a rollkit v0.13.7 node that has 3000 headers, fetches them all
// over rollkit's header exchange (same hashes as rollkit's), then follows 20
// more by rollkit's gossip.
func TestHeadersyncSyncsFromRollkit(t *testing.T) {
	const n = 3000
	c, seq, hs := syncedLight(t, n)
	requireSameHashes(t, hs, "headers", c, 1, 2, n/2, n-1, n)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, h := range []uint64{1, n / 2, n} {
		got, err := seq.hashAt(ctx, h)
		require.NoError(t, err)
		require.Equal(t, c.header(h).Hash(), got, "the rollkit broadcaster's header %d", h)
	}

	// Gossip: the broadcaster publishes into its mesh only, so wait until
	// headersync is in it; then each new header must arrive without asking.
	seq.waitMeshPeer(t, headerTopic(), hs.id, 10*time.Second)
	for i := 0; i < 20; i++ {
		c.appendAt(t, time.Now())
	}
	seq.publish(t, c, n+1, n+20)
	hs.waitHeight(t, n+20, 5*time.Second)
	requireSameHashes(t, hs, "headers", c, n+1, n+10, n+20)
	st, err := hs.status()
	require.NoError(t, err)
	require.Equal(t, uint64(n+20), st.Headers.Height, "headersync /status headers.height")
	require.Equal(t, hexHash(c.header(n+20).Hash()), st.Headers.HeadHash, "headersync /status headers.head_hash")
}

// TestRollkitSyncsFromHeadersync: with the rollkit broadcaster gone, a fresh
// rollkit v0.13.7 non-aggregator node whose only seed is the headersync light
// node gets the genesis header from it, asks it for the head, and syncs the
// whole chain from it, hash for hash.
func TestRollkitSyncsFromHeadersync(t *testing.T) {
	const n = 3000
	c, seq, hs := syncedLight(t, n)
	seq.stop()

	follower := startRollkit(t, rkOptions{genesis: c.genesis, seeds: []string{hs.p2pAddr}, name: "follower"})
	follower.waitHeight(t, n, 30*time.Second)
	requireRollkitHashes(t, follower, c, 1, n)
}

// TestRollkitFollowsGossipThroughHeadersync: a rollkit non-aggregator node
// that may not connect to the rollkit broadcaster (its connection gater
// blocks it) and whose only seed is the headersync light node syncs from
// headersync, then follows new headers that only headersync can have relayed
// to it by gossip (rollkit's syncer never polls for heads).
func TestRollkitFollowsGossipThroughHeadersync(t *testing.T) {
	const n = 300
	c, seq, hs := syncedLight(t, n)

	follower := startRollkit(t, rkOptions{genesis: c.genesis, seeds: []string{hs.p2pAddr}, blocked: []string{seq.addr}, name: "follower"})
	follower.waitHeight(t, n, 20*time.Second)
	requireRollkitHashes(t, follower, c, 1, n)

	seq.waitMeshPeer(t, headerTopic(), hs.id, 10*time.Second)
	follower.waitMeshPeer(t, headerTopic(), hs.id, 10*time.Second)
	for i := 0; i < 10; i++ {
		c.appendAt(t, time.Now())
	}
	seq.publish(t, c, n+1, n+10)
	follower.waitHeight(t, n+10, 10*time.Second)
	requireRollkitHashes(t, follower, c, n+1, n+10)
	require.NotEqual(t, network.Connected, follower.client.Host().Network().Connectedness(seq.id),
		"the follower is connected to the broadcaster: the gossip need not have come through headersync")
}

// TestWrongSignatureRefusedByHeadersyncStoredByRollkit: a rollkit broadcaster
// publishes a header that links correctly to its chain but is signed by a key
// that is not the sequencer's. headersync refuses it, bans the broadcaster and
// keeps the chain below it; a rollkit node syncing from the same broadcaster
// stores it, because rollkit v0.13.7 checks no signature during p2p sync.
func TestWrongSignatureRefusedByHeadersyncStoredByRollkit(t *testing.T) {
	const good = 199
	c, seq, hs := syncedLight(t, good)

	seq.waitMeshPeer(t, headerTopic(), hs.id, 10*time.Second)
	bad := c.appendBadSignature(t, time.Now())
	seq.publish(t, c, good+1, good+1)

	waitFor(t, 20*time.Second, fmt.Sprintf("headersync to ban the broadcaster %s", seq.id), func() (bool, string) {
		hs.checkRunning(t)
		return hs.bannedPeer(seq.id) != "", "no banned-peer line for it"
	})
	t.Logf("headersync: %s", hs.bannedPeer(seq.id))

	// rollkit takes the header (the follower starts after the ban so that
	// only the broadcaster, never the follower, can have sent it to
	// headersync).
	follower := startRollkit(t, rkOptions{genesis: c.genesis, seeds: []string{seq.addr}, name: "follower"})
	follower.waitHeight(t, good+1, 20*time.Second)
	requireRollkitHashes(t, follower, c, 1, good+1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stored, err := follower.signedHeader(ctx, good+1)
	require.NoError(t, err)
	require.Equal(t, bad.SignedHeader.Signature, stored.Signature, "the signature rollkit stores at %d", good+1)
	require.ErrorIs(t, stored.ValidateBasic(), types.ErrSignatureVerificationFailed,
		"the header rollkit stored at %d, checked with its own ValidateBasic", good+1)

	// headersync never stored it, and kept the chain below it.
	st, err := hs.status()
	require.NoError(t, err)
	require.Equal(t, uint64(good), st.Headers.Height, "headersync /status headers.height")
	require.Equal(t, hexHash(c.header(good).Hash()), st.Headers.HeadHash, "headersync /status headers.head_hash")
	got, err := hs.hashAt("headers", good+1)
	require.NoError(t, err)
	require.Empty(t, got, "headersync serves header %d, signed by the wrong key", good+1)
	requireSameHashes(t, hs, "headers", c, 1, good/2, good)
}

// TestHeadersyncFullSyncsBlocksFromRollkit: a headersync full node in rollkit
// format, seeded to a rollkit node running both of rollkit's sync services
// (header sync and block sync, as rollkit's full node does), gets every
// header and every block, with rollkit's hashes, then follows new ones by
// gossip on both topics.
func TestHeadersyncFullSyncsBlocksFromRollkit(t *testing.T) {
	const n = 500
	c, seq, hs := syncedFull(t, n)
	requireSameHashes(t, hs, "headers", c, 1, n/2, n)
	requireSameHashes(t, hs, "blocks", c, 1, n/2, n)
	for _, h := range []uint64{1, n} {
		txs, err := hs.blockTxs(h)
		require.NoError(t, err)
		want := make([][]byte, 0, len(c.block(h).Data.Txs))
		for _, tx := range c.block(h).Data.Txs {
			want = append(want, tx)
		}
		require.Equal(t, want, txs, "the txs of headersync's block %d", h)
	}

	seq.waitMeshPeer(t, headerTopic(), hs.id, 10*time.Second)
	seq.waitMeshPeer(t, blockTopic(), hs.id, 10*time.Second)
	for i := 0; i < 10; i++ {
		c.appendAt(t, time.Now())
	}
	seq.publish(t, c, n+1, n+10)
	hs.waitHeight(t, n+10, 5*time.Second)
	hs.waitBlockHeight(t, n+10, 5*time.Second)
	requireSameHashes(t, hs, "blocks", c, n+1, n+10)
}

// syncedFull starts a rollkit node running both sync services with an
// n-block chain and a headersync full node seeded to it, and waits until
// headersync has every header and block.
func syncedFull(t *testing.T, n int) (*chain, *rkNode, *hsNode) {
	t.Helper()
	c := newChain(t)
	c.extend(t, n, time.Now())
	seq := startRollkit(t, rkOptions{services: rkHeaders | rkBlocks, aggregator: true, genesis: c.genesis, name: "sequencer"})
	seq.publish(t, c, 1, c.height())
	hs := startHeadersync(t, hsOptions{role: "full", genesis: c.genesisFile, seeds: []string{seq.addr}, name: "full"})
	hs.waitHeight(t, c.height(), 30*time.Second)
	hs.waitBlockHeight(t, c.height(), 30*time.Second)
	return c, seq, hs
}

// TestRollkitSyncsBlocksFromHeadersync: with the rollkit source gone, a
// fresh rollkit node running both sync services, whose only seed is the
// headersync full node, syncs every header and every block from it: the
// blocks headersync serves are rollkit's, byte for byte where it counts
// (the hashes, and the txs under the data hash rollkit checks).
func TestRollkitSyncsBlocksFromHeadersync(t *testing.T) {
	const n = 500
	c, seq, hs := syncedFull(t, n)
	seq.stop()

	follower := startRollkit(t, rkOptions{services: rkHeaders | rkBlocks, genesis: c.genesis, seeds: []string{hs.p2pAddr}, name: "follower"})
	follower.waitHeight(t, n, 30*time.Second)
	requireRollkitHashes(t, follower, c, 1, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, h := range []uint64{1, n / 2, n} {
		b, err := follower.bss.Store().GetByHeight(ctx, h)
		require.NoError(t, err)
		require.Equal(t, c.block(h).Hash(), b.Hash(), "rollkit's block %d", h)
		require.Equal(t, c.block(h).Data.Txs, b.Data.Txs, "the txs of rollkit's block %d", h)
		require.NoError(t, b.ValidateBasic(), "rollkit's own check of block %d", h)
	}
}
