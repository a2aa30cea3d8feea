package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/types"
)

// openPebble opens a pebble datastore in dir, closed when the test ends.
func openPebble(t *testing.T, dir string) *store.DB {
	t.Helper()
	ds, err := store.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ds.Close()) }) // a second Close does nothing
	return ds
}

// reopen closes ds, as a stop would, and opens the queue again from dir.
func reopen(t *testing.T, dir string, ds datastore.Batching) (*store.DB, *mempool) {
	t.Helper()
	require.NoError(t, ds.Close())
	db := openPebble(t, dir)
	m, err := openMempool(context.Background(), db)
	require.NoError(t, err)
	return db, m
}

func newPebbleMempool(t *testing.T) (string, datastore.Batching, *mempool) {
	t.Helper()
	dir := t.TempDir()
	ds := openPebble(t, dir)
	m, err := openMempool(context.Background(), ds)
	require.NoError(t, err)
	require.Zero(t, m.len())
	return dir, ds, m
}

func addAll(t *testing.T, m *mempool, txs ...string) {
	t.Helper()
	for _, tx := range txs {
		_, err := m.add(context.Background(), []byte(tx))
		require.NoError(t, err, "add %q", tx)
	}
}

// queued returns the queue in memory, oldest first.
func queued(m *mempool) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []string{}
	for _, q := range m.txs {
		out = append(out, string(q.tx))
	}
	return out
}

func TestMempoolTakeAndPutBack(t *testing.T) {
	_, _, m := newPebbleMempool(t)
	ctx := context.Background()
	_, err := m.add(ctx, nil)
	require.ErrorIs(t, err, ErrEmptyTx)
	_, err = m.add(ctx, make([]byte, MaxTxSize+1))
	require.ErrorIs(t, err, ErrTxTooLarge)
	for i := 0; i < 3; i++ {
		n, err := m.add(ctx, []byte{byte(i), 1, 2})
		require.NoError(t, err)
		require.Equal(t, i+1, n)
	}
	got := m.take(6)
	require.Len(t, got, 2, "take stops before exceeding the byte limit")
	m.putBack(got)
	all := m.take(1 << 20)
	require.Len(t, all, 3)
	require.Equal(t, byte(0), all[0].tx[0], "returned transactions keep their place")
	require.Zero(t, m.len())
}

// What add accepted is on disk, in order, when the queue is opened again;
// transactions added after that go behind it, also across the next restart.
func TestMempoolReplaysInOrder(t *testing.T) {
	dir, ds, m := newPebbleMempool(t)
	addAll(t, m, "a", "b", "c")
	ds, m = reopen(t, dir, ds)
	require.Equal(t, []string{"a", "b", "c"}, queued(m))

	addAll(t, m, "d")
	_, m = reopen(t, dir, ds)
	require.Equal(t, []string{"a", "b", "c", "d"}, queued(m))
}

// commitBlock journals the block and removes exactly the transactions taken
// for it; transactions taken but put back stay queued on disk.
func TestMempoolCommitBlockRemovesTakenEntries(t *testing.T) {
	ctx := context.Background()
	dir, ds, m := newPebbleMempool(t)
	addAll(t, m, "a", "b", "c", "d", "e")

	taken := m.take(2)
	require.Equal(t, []string{"a", "b"}, txStrings(blockTxs(taken)))
	require.NoError(t, m.commitBlock(ctx, journalKey, []byte("block 1"), taken))
	// Taken and put back after a failure: nothing leaves the disk.
	m.putBack(m.take(1))
	addAll(t, m, "f")

	ds, m = reopen(t, dir, ds)
	require.Equal(t, []string{"c", "d", "e", "f"}, queued(m))
	journal, err := ds.Get(ctx, journalKey)
	require.NoError(t, err)
	require.Equal(t, "block 1", string(journal))

	require.NoError(t, m.commitBlock(ctx, journalKey, []byte("block 2"), m.take(1<<20)))
	_, m = reopen(t, dir, ds)
	require.Empty(t, queued(m))
	addAll(t, m, "g")
	require.Equal(t, []string{"g"}, queued(m), "a drained queue starts again")
}

// The limits count the replayed transactions: a full queue stays full
// across a restart until a block takes from it.
func TestMempoolLimitsAfterReplay(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name             string
		maxTxs, maxBytes int
	}{
		{"count", 3, 1 << 20},
		{"bytes", 100, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, ds, m := newPebbleMempool(t)
			m.maxTxs, m.maxBytes = tc.maxTxs, tc.maxBytes
			addAll(t, m, "a", "b", "c")
			_, err := m.add(ctx, []byte("d"))
			require.ErrorIs(t, err, ErrQueueFull)

			ds, m = reopen(t, dir, ds)
			m.maxTxs, m.maxBytes = tc.maxTxs, tc.maxBytes
			_, err = m.add(ctx, []byte("d"))
			require.ErrorIs(t, err, ErrQueueFull, "the replayed queue is as full as before")

			require.NoError(t, m.commitBlock(ctx, journalKey, []byte("block"), m.take(1)))
			addAll(t, m, "d")
			_, err = m.add(ctx, []byte("e"))
			require.ErrorIs(t, err, ErrQueueFull)

			_, m = reopen(t, dir, ds)
			require.Equal(t, []string{"b", "c", "d"}, queued(m))
		})
	}
}

// Concurrent submissions each return once their transaction is on disk,
// and the queue in memory keeps the order of the keys on disk: what a
// restart replays is what the producer would have taken.
func TestMempoolConcurrentAdds(t *testing.T) {
	const workers, each = 8, 25
	dir, ds, m := newPebbleMempool(t)
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := m.add(context.Background(), []byte(fmt.Sprintf("%d-%d", w, i))); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	before := queued(m)
	require.Len(t, before, workers*each)
	_, m = reopen(t, dir, ds)
	require.Equal(t, before, queued(m))
}

// A failed write is reported to the submitter and leaves nothing queued; a
// failed block commit leaves every taken transaction on disk.
func TestMempoolWriteFailures(t *testing.T) {
	ctx := context.Background()
	dir, ds, _ := newPebbleMempool(t)
	failing := &failingCommits{Batching: ds}
	m, err := openMempool(ctx, failing)
	require.NoError(t, err)
	m.maxBytes = 2
	addAll(t, m, "a")

	failing.fail.Store(true)
	_, err = m.add(ctx, []byte("b"))
	require.ErrorIs(t, err, errDiskFull)
	require.Equal(t, []string{"a"}, queued(m))
	taken := m.take(1 << 20)
	require.ErrorIs(t, m.commitBlock(ctx, journalKey, []byte("block"), taken), errDiskFull)
	m.putBack(taken)

	failing.fail.Store(false)
	addAll(t, m, "b") // the failed add gave its bytes back
	ds, m = reopen(t, dir, ds)
	require.Equal(t, []string{"a", "b"}, queued(m))
	_, err = ds.Get(ctx, journalKey)
	require.ErrorIs(t, err, datastore.ErrNotFound)
}

var errDiskFull = errors.New("disk full")

// failingCommits fails every batch commit while fail is set.
type failingCommits struct {
	datastore.Batching
	fail atomic.Bool
}

func (f *failingCommits) Batch(ctx context.Context) (datastore.Batch, error) {
	b, err := f.Batching.Batch(ctx)
	if err != nil {
		return nil, err
	}
	return failingBatch{Batch: b, fail: &f.fail}, nil
}

type failingBatch struct {
	datastore.Batch
	fail *atomic.Bool
}

func (b failingBatch) Commit(ctx context.Context) error {
	if b.fail.Load() {
		return errDiskFull
	}
	return b.Batch.Commit(ctx)
}

func txStrings(txs [][]byte) []string {
	out := make([]string, len(txs))
	for i, tx := range txs {
		out[i] = string(tx)
	}
	return out
}

// A sequencer that accepted transactions and stopped, or crashed after
// journaling a block but before storing it, includes each in exactly one
// block after restarting.
func TestRestartIncludesQueuedTxsOnce(t *testing.T) {
	ctx := context.Background()
	c := newChain(t)
	signer, g := c.signer, c.genesis
	dir := t.TempDir()
	ds := openPebble(t, dir)
	n, err := idleSequencer(t, c, ds)
	require.NoError(t, err)
	for _, tx := range []string{"first", "second"} {
		_, err := n.SubmitTx(ctx, []byte(tx))
		require.NoError(t, err)
	}
	require.NoError(t, n.Stop(ctx))

	ds, _ = reopen(t, dir, ds)
	n, err = idleSequencer(t, c, ds)
	require.NoError(t, err)
	require.Equal(t, 2, n.producer.pool.len(), "queued transactions were not replayed")
	// The crash: block 1, with the first transaction, is journaled, and
	// the node dies before either store has it.
	taken := n.producer.pool.take(len("first"))
	data := types.Data{Txs: blockTxs(taken)}
	sh, err := signer.Sign(types.FirstHeader(g, g.GenesisTime, &data))
	require.NoError(t, err)
	enc, err := types.NewBlock(sh, data).MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, n.producer.pool.commitBlock(ctx, journalKey, enc, taken))
	require.NoError(t, n.Stop(ctx))

	ds, _ = reopen(t, dir, ds)
	n, err = idleSequencer(t, c, ds)
	require.NoError(t, err)
	require.Equal(t, 1, n.producer.pool.len(), "the journaled block's transaction was replayed")
	for i := 0; i < 2; i++ {
		require.NoError(t, n.producer.produce(ctx))
	}
	count := txCounts(t, n)
	require.Equal(t, map[string]int{"first": 1, "second": 1}, count)
	require.Equal(t, uint64(3), n.blocks.Height())
}

// txCounts counts how many of n's stored blocks carry each transaction.
func txCounts(t *testing.T, n *Node) map[string]int {
	t.Helper()
	count := map[string]int{}
	for h := uint64(1); h <= n.blocks.Height(); h++ {
		b, err := n.native.blocks.GetByHeight(context.Background(), h)
		require.NoError(t, err)
		for _, tx := range b.Data().Txs {
			count[string(tx)]++
		}
	}
	return count
}

// A crash after the signing state recorded a block, before the write that
// journals it and dequeues its transactions: the restarted sequencer
// publishes that block from the signing state, and its transaction leaves
// the queue with it instead of going into a second block.
func TestSignedBlockTakesItsTxsOutOfTheQueue(t *testing.T) {
	ctx := context.Background()
	c := newChain(t)
	dir := t.TempDir()
	ds := openPebble(t, dir)
	n, err := idleSequencer(t, c, ds)
	require.NoError(t, err)
	require.NoError(t, n.producer.produce(ctx))
	for _, tx := range []string{"signed", "later"} {
		_, err := n.SubmitTx(ctx, []byte(tx))
		require.NoError(t, err)
	}
	head, err := n.native.blocks.Head(ctx)
	require.NoError(t, err)
	taken := n.producer.pool.take(len("signed"))
	data := types.Data{Txs: blockTxs(taken)}
	signed, err := n.producer.guard.SignBlock(types.NextHeader(head.SignedHeader(), time.Now(), &data), data)
	require.NoError(t, err)
	require.NoError(t, n.Stop(ctx)) // the crash: nothing after the signing state was written

	ds, _ = reopen(t, dir, ds)
	n, err = idleSequencer(t, c, ds)
	require.NoError(t, err)
	b, err := n.native.blocks.GetByHeight(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, signed.Hash(), b.Hash(), "block 2 was signed anew")
	require.Equal(t, 1, n.producer.pool.len(), "the signed block's transaction is still queued")
	for range 2 {
		require.NoError(t, n.producer.produce(ctx))
	}
	count := txCounts(t, n)
	require.Equal(t, map[string]int{"signed": 1, "later": 1}, count)

	// And on disk: a restart replays nothing.
	require.NoError(t, n.Stop(ctx))
	ds, _ = reopen(t, dir, ds)
	n, err = idleSequencer(t, c, ds)
	require.NoError(t, err)
	require.Zero(t, n.producer.pool.len())
}

// BenchmarkMempoolAdd measures submissions on pebble with synced writes, one
// at a time and from 32 clients per CPU at once; the ratio shows what
// sharing a write between concurrent adds buys.
func BenchmarkMempoolAdd(b *testing.B) {
	tx := make([]byte, 250)
	for _, bc := range []struct {
		name    string
		clients int // per GOMAXPROCS; 0: one client
	}{{"serial", 0}, {"concurrent", 32}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			ds, err := store.Open(b.TempDir())
			require.NoError(b, err)
			defer func() { require.NoError(b, ds.Close()) }()
			m, err := openMempool(ctx, ds)
			require.NoError(b, err)
			m.maxTxs, m.maxBytes = b.N+1, (b.N+1)*len(tx)
			b.ResetTimer()
			if bc.clients == 0 {
				for i := 0; i < b.N; i++ {
					if _, err := m.add(ctx, tx); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			b.SetParallelism(bc.clients)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := m.add(ctx, tx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
