package node

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/headersync/headersync/p2psync"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/testlog"
	"github.com/headersync/headersync/signstate"
	"github.com/headersync/headersync/types"
)

// idleSequencer starts a sequencer whose producer never ticks on its own, so
// the test drives production.
func idleSequencer(t *testing.T, c seqChain, ds p2psync.Datastore) (*Node, error) {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	require.NoError(t, err)
	signer, g := c.signer, c.genesis
	cfg := config.Default(config.RoleSequencer, g.ChainID)
	cfg.BlockTime = config.Duration(time.Hour)
	cfg.P2P.ListenAddress = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.API.Listen = "127.0.0.1:0"
	n, err := New(Options{Config: cfg, Genesis: g, Identity: key, Signer: signer, SigningState: c.state, Datastore: ds, Logger: testlog.New(t, slog.LevelInfo)})
	require.NoError(t, err)
	if err := n.Start(context.Background()); err != nil {
		return nil, err
	}
	t.Cleanup(func() { require.NoError(t, n.Stop(context.Background())) })
	return n, nil
}

// seqChain is a sequencer's key, genesis and signing state file.
type seqChain struct {
	signer  *types.Signer
	genesis *types.Genesis
	state   string
}

func newChain(t *testing.T) seqChain {
	t.Helper()
	s, err := types.GenerateSigner()
	require.NoError(t, err)
	g := &types.Genesis{ChainID: "gm", InitialHeight: 1, GenesisTime: time.Now().UTC(), SequencerPubKey: s.PublicKey()}
	state := filepath.Join(t.TempDir(), "sequencer_state.json")
	require.NoError(t, signstate.Create(state, g))
	return seqChain{signer: s, genesis: g, state: state}
}

// threeBlocksThenNext starts a sequencer on ds, produces three blocks and
// signs (without journaling or publishing) block 4 carrying tx: the
// setting of a crash. The signing state holds block 4.
func threeBlocksThenNext(t *testing.T, c seqChain, ds p2psync.Datastore, tx string) (*Node, *types.SignedHeader, types.Data) {
	t.Helper()
	ctx := context.Background()
	n, err := idleSequencer(t, c, ds)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		require.NoError(t, n.producer.produce(ctx))
	}
	head, err := n.native.blocks.Head(ctx)
	require.NoError(t, err)
	data := types.Data{Txs: [][]byte{[]byte(tx)}}
	b, err := n.producer.guard.SignBlock(types.NextHeader(head.SignedHeader(), time.Now(), &data), data)
	require.NoError(t, err)
	return n, b.SignedHeader(), data
}

// A crash between publishing a block and its header leaves the header store
// one behind; the restarted sequencer recovers the header from the block
// before producing anything new.
func TestRestartRecoversHeaderFromBlock(t *testing.T) {
	ctx := context.Background()
	c := newChain(t)
	ds := memStore(t)
	n, sh, data := threeBlocksThenNext(t, c, ds, "tx")
	// The crash: block 4 is stored, its header is not.
	require.NoError(t, n.native.seqBlocks.Publish(ctx, types.NewBlock(sh, data)))
	require.Equal(t, uint64(3), n.headers.Height())
	require.NoError(t, n.Stop(ctx))

	n2, err := idleSequencer(t, c, ds)
	require.NoError(t, err)
	require.Equal(t, uint64(4), n2.headers.Height())
	got, err := n2.native.headers.GetByHeight(ctx, 4)
	require.NoError(t, err)
	require.Equal(t, sh.Hash(), got.Hash())

	require.NoError(t, n2.producer.produce(ctx))
	h5, err := n2.native.headers.GetByHeight(ctx, 5)
	require.NoError(t, err)
	require.NoError(t, got.Verify(h5), "production continues from the recovered header")
}

// A crash after a block is signed and journaled but before the block store
// has it on disk (go-header's store shows an appended block before writing
// it, so peers may have seen it): the restarted sequencer publishes that
// very block, and never signs another at its height.
func TestRestartRepublishesJournaledBlock(t *testing.T) {
	ctx := context.Background()
	c := newChain(t)
	ds := memStore(t)
	n, sh, data := threeBlocksThenNext(t, c, ds, "seen by peers, lost by the store")
	enc, err := types.NewBlock(sh, data).MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, ds.Put(ctx, journalKey, enc)) // journaled; the crash comes before the stores
	require.NoError(t, n.Stop(ctx))

	n2, err := idleSequencer(t, c, ds)
	require.NoError(t, err)
	for _, height := range []uint64{n2.blocks.Height(), n2.headers.Height()} {
		require.Equal(t, uint64(4), height)
	}
	b, err := n2.native.blocks.GetByHeight(ctx, 4)
	require.NoError(t, err)
	require.Equal(t, sh.Hash(), b.Hash(), "block 4 was signed anew")
	require.Equal(t, data.Txs, b.Data().Txs)
	h, err := n2.native.headers.GetByHeight(ctx, 4)
	require.NoError(t, err)
	require.Equal(t, sh.Hash(), h.Hash())
}

// A crash right after the signing state recorded block 4, before the
// journal or any store had it: the restarted sequencer publishes that very
// block, read back from the state, and never signs another at its height.
func TestRestartRepublishesSignedBlock(t *testing.T) {
	ctx := context.Background()
	c := newChain(t)
	ds := memStore(t)
	n, sh, data := threeBlocksThenNext(t, c, ds, "signed, then the crash")
	require.NoError(t, n.Stop(ctx))

	n2, err := idleSequencer(t, c, ds)
	require.NoError(t, err)
	require.Equal(t, uint64(4), n2.blocks.Height())
	require.Equal(t, uint64(4), n2.headers.Height())
	b, err := n2.native.blocks.GetByHeight(ctx, 4)
	require.NoError(t, err)
	require.Equal(t, sh.Hash(), b.Hash(), "block 4 was signed anew")
	require.Equal(t, data.Txs, b.Data().Txs)
	require.NoError(t, n2.producer.produce(ctx))
	require.Equal(t, uint64(5), n2.Status(ctx).Sequencer.SignedHeight)
}

// The signing state refuses what would fork the chain, even when the
// stores would take it: a different block at a height already signed.
func TestSequencerRefusesToResignAHeight(t *testing.T) {
	ctx := context.Background()
	c := newChain(t)
	ds := memStore(t)
	n, _, _ := threeBlocksThenNext(t, c, ds, "signed")
	head, err := n.native.blocks.Head(ctx)
	require.NoError(t, err)
	other := types.Data{Txs: [][]byte{[]byte("another block 4")}}
	_, err = n.producer.guard.SignBlock(types.NextHeader(head.SignedHeader(), time.Now(), &other), other)
	require.ErrorIs(t, err, signstate.ErrDoubleSign)
}

// A home from before signing state: the state is created from the stored
// head, and production continues above it.
func TestSigningStateMigratesFromStoredHead(t *testing.T) {
	ctx := context.Background()
	c := newChain(t)
	ds := memStore(t)
	n, err := idleSequencer(t, c, ds)
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, n.producer.produce(ctx))
	}
	require.NoError(t, n.Stop(ctx))
	require.NoError(t, os.Remove(c.state))

	n2, err := idleSequencer(t, c, ds)
	require.NoError(t, err)
	require.Equal(t, uint64(3), n2.Status(ctx).Sequencer.SignedHeight)
	g, err := signstate.Load(c.state, c.signer, c.genesis)
	require.NoError(t, err)
	require.Equal(t, uint64(3), g.Height())
	require.NoError(t, n2.producer.produce(ctx))
	require.Equal(t, uint64(4), n2.blocks.Height())
}

// A header store ahead of the block store means blocks were lost: the
// sequencer refuses to start rather than build on a chain it cannot serve.
func TestStartRefusesHeadersAheadOfBlocks(t *testing.T) {
	ctx := context.Background()
	c := newChain(t)
	ds := memStore(t)
	n, err := idleSequencer(t, c, ds)
	require.NoError(t, err)
	require.NoError(t, n.producer.produce(ctx))
	head, err := n.native.headers.Head(ctx)
	require.NoError(t, err)
	sh, err := c.signer.SignNext(head, time.Now(), &types.Data{})
	require.NoError(t, err)
	require.NoError(t, n.native.seqHeaders.Publish(ctx, sh))
	require.NoError(t, n.Stop(ctx))

	_, err = idleSequencer(t, c, ds)
	require.ErrorContains(t, err, "blocks are missing")
}
