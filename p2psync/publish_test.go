package p2psync_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
)

// A sequencer whose store lost what it signed (data/ wiped) syncs its chain
// back from a full node before it may publish, and then extends that chain:
// the full node takes the next header from it as from any sequencer.
func TestSequencerRecoversItsChainFromPeers(t *testing.T) {
	gen := newGenerator(t, 22)
	seq := startSequencer(t, gen, peerOpts{}, true)
	seq.publish(20)
	fullPeer := newPeer(t, peerOpts{seeds: []string{seq.peer.addr()}})
	fullHeaders := headerService(t, fullPeer, gen.Genesis, serviceOpts{})
	fullBlocks := startService[*types.Block](t, fullPeer, p2psync.Blocks, gen.Genesis, serviceOpts{})
	waitHead(t, fullHeaders, seq.head().Hash())
	waitHead(t, fullBlocks, seq.head().Hash())

	// The restarted sequencer: same key, empty store, the full node as its
	// only peer; it signed up to 20, so it needs 19 before publishing.
	ctx := context.Background()
	wiped := newPeer(t, peerOpts{seeds: []string{fullPeer.addr()}})
	opts := serviceOpts{sequencer: true, recoverTo: 19}
	headers := seqHeaderService(t, wiped, gen.Genesis, opts)
	blocks := startSequencerService[*types.Block](t, wiped, p2psync.Blocks, gen.Genesis, opts)
	st := headers.State(ctx)
	require.True(t, st.Recovering)
	require.Equal(t, uint64(19), st.RecoverTo)

	next, err := gen.NextBlock([]byte("tx"))
	require.NoError(t, err)
	require.ErrorIs(t, blocks.Publish(ctx, next), p2psync.ErrRecovering, "no publishing before the chain is back")

	waitHead(t, headers.Service, seq.head().Hash())
	waitHead(t, blocks.Service, seq.head().Hash())
	require.NoError(t, headers.FinishRecovery(ctx))
	require.NoError(t, blocks.FinishRecovery(ctx))
	require.False(t, headers.State(ctx).Recovering)
	require.Nil(t, headers.State(ctx).Syncer, "the syncer stopped")

	// The last block signed may already be back from peers when the
	// sequencer publishes it again: the same block is accepted (a race
	// with the store's asynchronous append, found in CI), another at its
	// height is refused.
	require.NoError(t, blocks.Publish(ctx, seq.history[19]))
	require.NoError(t, headers.Publish(ctx, seq.head()))
	prev := seq.history[18].SignedHeader()
	otherData := types.Data{Txs: [][]byte{[]byte("another block 20")}}
	other, err := gen.Signer.Sign(types.NextHeader(prev, prev.Time().Add(time.Millisecond), &otherData))
	require.NoError(t, err)
	require.Error(t, headers.Publish(ctx, other), "a second header at height 20")

	require.NoError(t, blocks.Publish(ctx, next))
	require.NoError(t, headers.Publish(ctx, next.SignedHeader()))
	waitHead(t, fullHeaders, next.Hash())
	waitHead(t, fullBlocks, next.Hash())
	for h := uint64(1); h <= 20; h++ {
		got, err := headers.GetByHeight(ctx, h)
		require.NoError(t, err)
		require.Equal(t, seq.at(h).Hash(), got.Hash(), "height %d", h)
	}
}
