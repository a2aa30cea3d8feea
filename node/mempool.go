package node

import (
	"fmt"
	"sync"

	"github.com/headersync/headersync/api"
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

// mempool is the sequencer's FIFO of submitted transactions.
type mempool struct {
	mu    sync.Mutex
	txs   [][]byte
	bytes int
}

// add queues a copy of tx and returns the queue length.
func (m *mempool) add(tx []byte) (int, error) {
	switch {
	case len(tx) == 0:
		return 0, api.ErrEmptyTx
	case len(tx) > MaxTxSize:
		return 0, fmt.Errorf("%w: %d bytes, at most %d", api.ErrTxTooLarge, len(tx), MaxTxSize)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.txs) >= maxQueuedTxs || m.bytes+len(tx) > maxQueuedBytes {
		return 0, fmt.Errorf("%w: %d transactions, %d bytes queued", api.ErrQueueFull, len(m.txs), m.bytes)
	}
	m.txs = append(m.txs, append([]byte(nil), tx...))
	m.bytes += len(tx)
	return len(m.txs), nil
}

// take removes and returns the oldest transactions that fit in maxBytes.
func (m *mempool) take(maxBytes int) [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, size := 0, 0
	for n < len(m.txs) && size+len(m.txs[n]) <= maxBytes {
		size += len(m.txs[n])
		n++
	}
	out := m.txs[:n:n]
	m.txs = m.txs[n:]
	m.bytes -= size
	return out
}

// putBack returns txs that did not make it into a block to the front.
func (m *mempool) putBack(txs [][]byte) {
	if len(txs) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.txs = append(append(make([][]byte, 0, len(txs)+len(m.txs)), txs...), m.txs...)
	for _, tx := range txs {
		m.bytes += len(tx)
	}
}

func (m *mempool) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.txs)
}
