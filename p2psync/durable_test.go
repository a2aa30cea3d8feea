package p2psync_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/store"
)

// heldSyncs is the node's real pebble database on a file system with a hook
// in the one window that matters for durability: armed, the next sync of
// the write-ahead log blocks until the test releases it. A commit then
// waits in pebble, applied to the memtable but not yet on disk: the moment
// a kill -9 loses it.
type heldSyncs struct {
	vfs.FS
	armed   atomic.Bool
	held    chan struct{} // receives when a sync is held
	release chan struct{} // closed to let it return
}

func newHeldSyncs(t *testing.T) (*store.DB, *heldSyncs) {
	t.Helper()
	fs := &heldSyncs{FS: vfs.NewMem(), held: make(chan struct{}, 1), release: make(chan struct{})}
	ds := store.Memory(store.WithPebbleTuning(func(o *pebble.Options) { o.FS = fs }))
	t.Cleanup(func() { require.NoError(t, ds.Close()) })
	return ds, fs
}

func (fs *heldSyncs) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return &heldFile{File: f, fs: fs}, nil
}

func (fs *heldSyncs) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return fs.wrap(name, f, err)
}

func (fs *heldSyncs) ReuseForWrite(old, name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(old, name, c)
	return fs.wrap(name, f, err)
}

// holdNext arms the hook and returns a func that releases the held sync;
// the test's cleanup releases it too, so a failing test cannot hang.
func (fs *heldSyncs) holdNext(t *testing.T) (releaseOnce func()) {
	fs.armed.Store(true)
	var done atomic.Bool
	releaseOnce = func() {
		if done.CompareAndSwap(false, true) {
			close(fs.release)
		}
	}
	t.Cleanup(releaseOnce)
	return releaseOnce
}

func (fs *heldSyncs) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-fs.held:
	case <-time.After(waitFor):
		t.Fatal("the log was never synced")
	}
}

type heldFile struct {
	vfs.File
	fs *heldSyncs
}

func (f *heldFile) hold() {
	if f.fs.armed.CompareAndSwap(true, false) {
		f.fs.held <- struct{}{}
		<-f.fs.release
	}
}

func (f *heldFile) Sync() error                  { f.hold(); return f.File.Sync() }
func (f *heldFile) SyncData() error              { f.hold(); return f.File.SyncData() }
func (f *heldFile) SyncTo(n int64) (bool, error) { f.hold(); return f.File.SyncTo(n) }

// Regression, issue 13 finding 5: a full node reported as durable a batch
// that pebble had applied but not yet synced, and kill -9 took it back
// ("killed at headers 2049 (durable 2049); check: headers 1..1537"). The
// store now reports a header only once its synced commit has returned: its
// height, and so the durable height, must not move while the sync is held.
func TestFullNodeDurableHeightWaitsForTheCommit(t *testing.T) {
	gen := newGenerator(t, 12)
	seq := startSequencer(t, gen, peerOpts{}, false)
	seq.publish(1)

	ds, fs := newHeldSyncs(t)
	fullPeer := newPeer(t, peerOpts{seeds: []string{seq.peer.addr()}})
	fullPeer.ds = ds
	full := headerService(t, fullPeer, gen.Genesis, serviceOpts{})
	waitHead(t, full, seq.head().Hash())
	ctx := context.Background()
	require.Equal(t, uint64(1), full.State(ctx).DurableHeight)

	release := fs.holdNext(t)
	seq.publish(10)
	fs.waitHeld(t)
	require.Equal(t, uint64(1), full.State(ctx).DurableHeight, "a header whose sync has not returned was reported durable")

	release()
	waitHead(t, full, seq.head().Hash())
	// What a catch-up leaves unsynced is synced within the store's
	// SyncEvery, with no append to prompt it.
	require.Eventually(t, func() bool { return full.State(ctx).DurableHeight == seq.head().Height() }, waitFor, tick)
}

// The same window on the sequencer: Publish must not return, and the header
// must not be gossiped, while the write of its header has not returned.
func TestSequencerPublishWaitsForTheCommit(t *testing.T) {
	gen := newGenerator(t, 2)
	ds, fs := newHeldSyncs(t)
	p := newPeer(t, peerOpts{})
	p.ds = ds
	svc := seqHeaderService(t, p, gen.Genesis, serviceOpts{})
	ctx := context.Background()

	first, err := gen.NextBlock()
	require.NoError(t, err)
	require.NoError(t, svc.Publish(ctx, first.SignedHeader()))
	second, err := gen.NextBlock()
	require.NoError(t, err)

	release := fs.holdNext(t)
	published := make(chan error, 1)
	go func() { published <- svc.Publish(ctx, second.SignedHeader()) }()
	fs.waitHeld(t)
	st := svc.State(ctx)
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
