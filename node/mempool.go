package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"

	"github.com/headersync/headersync/types"
)

// Limits of the sequencer's transaction queue.
const (
	// maxBlockTxBytes bounds the transactions of one block, leaving room in
	// the block for its header and framing.
	maxBlockTxBytes = types.MaxBlockSize - 8<<10
	// MaxTxSize is the largest transaction: one that fills a block.
	MaxTxSize = maxBlockTxBytes
	// maxQueuedBytes and maxQueuedTxs bound the queue's memory.
	maxQueuedBytes = 64 << 20
	maxQueuedTxs   = 100_000
)

// Errors of the transaction queue, for the callers of Node.SubmitTx to
// test. The node's API backend maps each onto the api's kind of error,
// which decides the HTTP status (see submitError).
var (
	// ErrEmptyTx: a transaction has no bytes.
	ErrEmptyTx = errors.New("empty transaction")
	// ErrTxTooLarge: a transaction is over MaxTxSize, so it fits no block.
	ErrTxTooLarge = errors.New("transaction too large")
	// ErrQueueFull: the queue is at its limit; the transaction may be
	// submitted again once blocks have taken from it.
	ErrQueueFull = errors.New("transaction queue full")
)

// mempoolPrefix keys the queued transactions in the node's datastore, each
// under its sequence number as 16 hex digits, so key order is queue order.
const mempoolPrefix = "/mempool"

// mempool is the sequencer's FIFO of submitted transactions, kept in the
// datastore as well as in memory: a transaction accepted (add returned) is
// either in a block or still queued after any stop or crash.
//
// A block's transactions leave the datastore in the batch that journals the
// block (commitBlock), so a crash cannot leave them both journaled and
// queued, which would put them in two blocks.
//
// The queue in memory is always in sequence order: adds are written in
// order, take removes the oldest and putBack returns them to the front. So
// the transactions of the block being made are the oldest entries on disk.
type mempool struct {
	ds               datastore.Batching
	maxTxs, maxBytes int

	// write is held by the add writing to the datastore. It writes every
	// accepted transaction waiting, in one synced batch, so concurrent
	// submissions share one fsync instead of queueing for one each.
	write sync.Mutex

	mu      sync.Mutex
	txs     []queuedTx    // on disk, oldest first
	waiting []*pendingAdd // accepted, not yet written
	bytes   int           // of txs and waiting
	next    uint64        // sequence number of the next transaction accepted
}

// queuedTx is a queued transaction and its sequence number, which keys it
// in the datastore.
type queuedTx struct {
	seq uint64
	tx  []byte
}

// pendingAdd is a transaction waiting to be written; done and err are
// guarded by mempool.write.
type pendingAdd struct {
	queuedTx
	done    bool
	err     error
	pending int // queue length once written
}

// openMempool returns the queue persisted in ds, oldest first, with the
// default limits. Transactions over the limits stay queued: they were
// accepted; new ones wait until the queue drains.
func openMempool(ctx context.Context, ds datastore.Batching) (_ *mempool, err error) {
	m := &mempool{ds: ds, maxTxs: maxQueuedTxs, maxBytes: maxQueuedBytes}
	res, err := ds.Query(ctx, query.Query{Prefix: mempoolPrefix, Orders: []query.Order{query.OrderByKey{}}})
	if err != nil {
		return nil, fmt.Errorf("read queued transactions: %w", err)
	}
	defer func() {
		if cerr := res.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("read queued transactions: %w", cerr)
		}
	}()
	for r, ok := res.NextSync(); ok; r, ok = res.NextSync() {
		if r.Error != nil {
			return nil, fmt.Errorf("read queued transactions: %w", r.Error)
		}
		seq, err := parseMempoolKey(r.Key)
		if err != nil {
			return nil, err
		}
		// add never accepts these; one that fits no block would stop the
		// queue for good.
		if len(r.Value) == 0 || len(r.Value) > MaxTxSize {
			return nil, fmt.Errorf("queued transaction %s: %d bytes, expected 1 to %d", r.Key, len(r.Value), MaxTxSize)
		}
		m.txs = append(m.txs, queuedTx{seq: seq, tx: r.Value})
		m.bytes += len(r.Value)
		m.next = seq + 1
	}
	return m, nil
}

func mempoolKey(seq uint64) datastore.Key {
	return datastore.NewKey(mempoolPrefix + "/" + hex.EncodeToString(binary.BigEndian.AppendUint64(nil, seq)))
}

func parseMempoolKey(key string) (uint64, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(key, mempoolPrefix+"/"))
	if err != nil || len(b) != 8 {
		return 0, fmt.Errorf("queued transaction key %q: expected %s/ and 16 hex digits", key, mempoolPrefix)
	}
	return binary.BigEndian.Uint64(b), nil
}

// add queues a copy of tx and returns the queue length once tx is synced to
// disk.
func (m *mempool) add(ctx context.Context, tx []byte) (int, error) {
	switch {
	case len(tx) == 0:
		return 0, ErrEmptyTx
	case len(tx) > MaxTxSize:
		return 0, fmt.Errorf("%w: %d bytes, at most %d", ErrTxTooLarge, len(tx), MaxTxSize)
	}
	m.mu.Lock()
	if queued := len(m.txs) + len(m.waiting); queued >= m.maxTxs || m.bytes+len(tx) > m.maxBytes {
		m.mu.Unlock()
		return 0, fmt.Errorf("%w: %d transactions, %d bytes queued", ErrQueueFull, queued, m.bytes)
	}
	a := &pendingAdd{queuedTx: queuedTx{seq: m.next, tx: append([]byte(nil), tx...)}}
	m.next++
	m.waiting = append(m.waiting, a)
	m.bytes += len(tx)
	m.mu.Unlock()

	m.write.Lock()
	defer m.write.Unlock()
	if !a.done { // else an add that held write before this one wrote a
		m.writeWaiting(ctx)
	}
	return a.pending, a.err
}

// writeWaiting writes every waiting transaction in one batch and queues
// them, or fails them all; write is held.
func (m *mempool) writeWaiting(ctx context.Context) {
	m.mu.Lock()
	batch := m.waiting
	m.waiting = nil
	m.mu.Unlock()

	// The batch carries other requests' transactions: one request ending
	// must not fail them.
	err := m.persist(context.WithoutCancel(ctx), batch)

	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range batch {
		a.done = true
		if err != nil {
			a.err = err
			m.bytes -= len(a.tx)
			continue
		}
		m.txs = append(m.txs, a.queuedTx)
		a.pending = len(m.txs) + len(m.waiting)
	}
}

func (m *mempool) persist(ctx context.Context, batch []*pendingAdd) error {
	b, err := m.ds.Batch(ctx)
	if err != nil {
		return fmt.Errorf("queue transactions: %w", err)
	}
	for _, a := range batch {
		if err := b.Put(ctx, mempoolKey(a.seq), a.tx); err != nil {
			return fmt.Errorf("queue transaction %d: %w", a.seq, err)
		}
	}
	if err := b.Commit(ctx); err != nil {
		return fmt.Errorf("queue %d transactions: %w", len(batch), err)
	}
	return nil
}

// take removes and returns the oldest transactions that fit in maxBytes.
// They stay on disk until commitBlock or, on failure, go back with putBack.
func (m *mempool) take(maxBytes int) []queuedTx {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, size := 0, 0
	for n < len(m.txs) && size+len(m.txs[n].tx) <= maxBytes {
		size += len(m.txs[n].tx)
		n++
	}
	out := m.txs[:n:n]
	m.txs = m.txs[n:]
	m.bytes -= size
	return out
}

// takeCarried removes and returns the queued entries carried by a block
// whose journal write never happened: for each of txs, in order, the oldest
// queued entry with its bytes. A block's transactions are the oldest
// entries when it is made, so these are the very entries it took; a
// transaction the queue does not hold is skipped.
func (m *mempool) takeCarried(txs [][]byte) []queuedTx {
	m.mu.Lock()
	defer m.mu.Unlock()
	taken := make(map[int]bool, len(txs))
	out := make([]queuedTx, 0, len(txs))
	for _, tx := range txs {
		for i, q := range m.txs {
			if !taken[i] && bytes.Equal(q.tx, tx) {
				taken[i] = true
				out = append(out, q)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	kept := m.txs[:0:0]
	for i, q := range m.txs {
		if taken[i] {
			m.bytes -= len(q.tx)
			continue
		}
		kept = append(kept, q)
	}
	m.txs = kept
	return out
}

// putBack returns txs that did not make it into a block to the front.
func (m *mempool) putBack(txs []queuedTx) {
	if len(txs) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.txs = append(append(make([]queuedTx, 0, len(txs)+len(m.txs)), txs...), m.txs...)
	for _, q := range txs {
		m.bytes += len(q.tx)
	}
}

// commitBlock writes block under journalKey and deletes the taken
// transactions it carries, in one synced batch: either the block is
// journaled and its transactions are out of the queue, or neither. The
// journal therefore lives in the queue's datastore. On error the caller
// returns taken with putBack.
func (m *mempool) commitBlock(ctx context.Context, journalKey datastore.Key, block []byte, taken []queuedTx) error {
	b, err := m.ds.Batch(ctx)
	if err != nil {
		return fmt.Errorf("start batch: %w", err)
	}
	if err := b.Put(ctx, journalKey, block); err != nil {
		return fmt.Errorf("write %s: %w", journalKey, err)
	}
	for _, q := range taken {
		if err := b.Delete(ctx, mempoolKey(q.seq)); err != nil {
			return fmt.Errorf("dequeue transaction %d: %w", q.seq, err)
		}
	}
	if err := b.Commit(ctx); err != nil {
		return fmt.Errorf("commit batch: %w", err)
	}
	return nil
}

// blockTxs returns the transactions of taken, for a block's data.
func blockTxs(taken []queuedTx) [][]byte {
	if len(taken) == 0 {
		return nil
	}
	txs := make([][]byte, len(taken))
	for i, q := range taken {
		txs[i] = q.tx
	}
	return txs
}

func (m *mempool) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.txs)
}
