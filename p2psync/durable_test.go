package p2psync_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/ipfs/go-datastore"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
)

// heldCommits is the node's real pebble datastore with a hook in the one
// window that matters for durability: pebble makes a committed batch visible
// to readers before its write-ahead log is synced, and only the committing
// call waits for the sync. Armed, the next batch commit is applied (visible)
// and then held, not returning, until the test releases it: the moment a
// kill -9 loses the batch.
type heldCommits struct {
	datastore.Batching
	armed   atomic.Bool
	held    chan struct{} // receives when a commit is held
	release chan struct{} // closed to let it return
}

func newHeldCommits(t *testing.T) *heldCommits {
	t.Helper()
	ds, err := store.Open(t.TempDir())
	require.NoError(t, err)
	h := &heldCommits{Batching: ds, held: make(chan struct{}, 1), release: make(chan struct{})}
	t.Cleanup(func() { require.NoError(t, ds.Close()) })
	return h
}

func (h *heldCommits) Batch(ctx context.Context) (datastore.Batch, error) {
	b, err := h.Batching.Batch(ctx)
	if err != nil {
		return nil, err
	}
	return &heldBatch{Batch: b, h: h}, nil
}

// holdNext arms the hook and returns a func that releases the held commit;
// the test's cleanup releases it too, so a failing test cannot hang in Stop.
func (h *heldCommits) holdNext(t *testing.T) (releaseOnce func()) {
	h.armed.Store(true)
	var done atomic.Bool
	releaseOnce = func() {
		if done.CompareAndSwap(false, true) {
			close(h.release)
		}
	}
	t.Cleanup(releaseOnce)
	return releaseOnce
}

// waitHeld waits until a commit is held.
func (h *heldCommits) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-h.held:
	case <-time.After(waitFor):
		t.Fatal("no batch was committed")
	}
}

type heldBatch struct {
	datastore.Batch
	h *heldCommits
}

func (b *heldBatch) Commit(ctx context.Context) error {
	if err := b.Batch.Commit(ctx); err != nil {
		return err
	}
	if b.h.armed.CompareAndSwap(true, false) {
		b.h.held <- struct{}{}
		<-b.h.release
	}
	return nil
}

// visibleHead reads the head record that go-header's store wrote, as any
// reader of the datastore sees it.
func visibleHead(t *testing.T, ds datastore.Read, kind p2psync.Kind) header.Hash {
	t.Helper()
	raw, err := ds.Get(context.Background(), datastore.NewKey(kind.StorePrefix()).ChildString("head"))
	require.NoError(t, err)
	var h header.Hash
	require.NoError(t, h.UnmarshalJSON(raw))
	return h
}

// Regression, issue 13 finding 5: a full node reported as durable a batch
// that pebble showed to readers but had not yet synced, and kill -9 took it
// back ("killed at headers 2049 (durable 2049); check: headers 1..1537").
// The durable height must not move until the batch's commit has returned.
func TestFullNodeDurableHeightWaitsForTheCommit(t *testing.T) {
	gen := newGenerator(t, 12)
	seq := startSequencer(t, gen, peerOpts{}, false)
	seq.publish(1)

	ds := newHeldCommits(t)
	fullPeer := newPeer(t, peerOpts{seeds: []string{seq.peer.addr()}})
	fullPeer.ds = ds
	full := headerService(t, fullPeer, gen.Genesis, serviceOpts{})
	waitHead(t, full, seq.head().Hash())
	ctx := context.Background()
	require.Equal(t, uint64(1), full.State(ctx).DurableHeight)

	release := ds.holdNext(t)
	seq.publish(10)
	ds.waitHeld(t)
	visible := visibleHead(t, ds, p2psync.Headers)
	require.NotEqual(t, seq.at(1).Hash().String(), visible.String(), "the held batch is visible to readers")
	st := full.State(ctx)
	require.Greater(t, st.Height, uint64(1))
	require.Equal(t, uint64(1), st.DurableHeight,
		"a batch whose commit has not returned (head %s visible) was reported durable", visible)

	release()
	waitHead(t, full, seq.head().Hash())
	require.Eventually(t, func() bool { return full.State(ctx).DurableHeight == seq.head().Height() }, waitFor, tick)
}

// The same window on the sequencer: Publish must not return, and the header
// must not be gossiped, while the write of its header has not returned.
func TestSequencerPublishWaitsForTheCommit(t *testing.T) {
	gen := newGenerator(t, 2)
	ds := newHeldCommits(t)
	p := newPeer(t, peerOpts{})
	p.ds = ds
	svc := seqHeaderService(t, p, gen.Genesis, serviceOpts{})
	ctx := context.Background()

	first, err := gen.NextBlock()
	require.NoError(t, err)
	require.NoError(t, svc.Publish(ctx, first.SignedHeader()))
	second, err := gen.NextBlock()
	require.NoError(t, err)

	release := ds.holdNext(t)
	published := make(chan error, 1)
	go func() { published <- svc.Publish(ctx, second.SignedHeader()) }()
	ds.waitHeld(t)
	require.Equal(t, second.Hash().String(), visibleHead(t, ds, p2psync.Headers).String())
	st := svc.State(ctx)
	require.Equal(t, uint64(2), st.Height)
	require.Equal(t, uint64(1), st.DurableHeight, "header 2 reported durable before its write returned")
	select {
	case err := <-published:
		t.Fatalf("Publish returned (%v) before header 2 was durable", err)
	default:
	}

	release()
	select {
	case err := <-published:
		require.NoError(t, err)
	case <-time.After(waitFor):
		t.Fatal("Publish never returned after the write did")
	}
	require.Equal(t, uint64(2), svc.State(ctx).DurableHeight)
}
