package api

import (
	"context"
	"errors"
	"time"

	"github.com/celestiaorg/go-header"

	"github.com/headersync/headersync/p2psync"
)

// Backend is what the API serves from: a running node.
type Backend interface {
	// Status reports the node's state.
	Status(ctx context.Context) Status
	// HeadView returns the newest stored header, or an error wrapping
	// ErrNotReady while the header service waits for its first header.
	// Headers and blocks come as their JSON views, so that the API serves
	// a chain of any header format.
	HeadView(ctx context.Context) (HeaderJSON, error)
	// HeaderView and HeaderViewByHash return a stored header, or an error
	// wrapping header.ErrNotFound; for a height below the lowest stored
	// one, a *p2psync.PrunedError (in BlockView too), which the API
	// answers as pruned. Reads of stored data that fail because
	// the store is corrupt, here and in BlockView and HeadView, wrap
	// ErrStoreCorrupt.
	HeaderView(ctx context.Context, height uint64) (HeaderJSON, error)
	HeaderViewByHash(ctx context.Context, hash header.Hash) (HeaderJSON, error)
	// BlockView returns a stored block, or an error wrapping
	// header.ErrNotFound, or ErrNoBlocks on a light node.
	BlockView(ctx context.Context, height uint64) (BlockJSON, error)
	// SubmitTx queues a transaction for the next block and returns how many
	// are queued; errors wrap ErrNotSequencer, ErrTxTooLarge, ErrQueueFull
	// or ErrEmptyTx.
	SubmitTx(ctx context.Context, tx []byte) (pending int, err error)
}

// Errors a Backend returns, each mapped to an HTTP status.
var (
	ErrNotReady     = errors.New("not initialised yet")                   // 503
	ErrNoBlocks     = errors.New("a light node stores no blocks")         // 404
	ErrNotSequencer = errors.New("only the sequencer takes transactions") // 403
	ErrTxTooLarge   = errors.New("transaction too large")                 // 413
	ErrQueueFull    = errors.New("transaction queue full")                // 503
	ErrEmptyTx      = errors.New("empty transaction")                     // 400
	ErrStoreCorrupt = errors.New("store corrupt")                         // 500
)

// Status is the body of GET /status.
type Status struct {
	Role        string       `json:"role"`
	ChainID     string       `json:"chain_id"`
	PeerID      string       `json:"peer_id"`
	ListenAddrs []string     `json:"listen_addrs"`
	Peers       []PeerStatus `json:"peers"`
	// Headers is the header sync service; Blocks the block sync service
	// (absent on light nodes).
	Headers *p2psync.State `json:"headers"`
	Blocks  *p2psync.State `json:"blocks,omitempty"`
	// CrossCheck reports the full node's check of synced blocks against
	// synced headers (absent on other roles).
	CrossCheck *CrossCheckStatus `json:"cross_check,omitempty"`
	// Sequencer reports block production (sequencer only).
	Sequencer *SequencerStatus `json:"sequencer,omitempty"`
	Version   string           `json:"version"`
}

// PeerStatus describes one connected peer.
type PeerStatus struct {
	ID             string    `json:"id"`
	Direction      string    `json:"direction"`
	Addr           string    `json:"addr"`
	ConnectedSince time.Time `json:"connected_since"`
	// LatencyMS is libp2p's moving average of round trips; 0 until measured.
	LatencyMS float64 `json:"latency_ms"`
	// Chain is set when the peer runs another chain than this node.
	Chain string `json:"chain,omitempty"`
	// Services says, per sync service ("header", "block"), whether the
	// peer serves its exchange and how this node rates it: the service's
	// own view, served as it is.
	Services map[string]p2psync.PeerState `json:"services"`
}

// CrossCheckStatus reports how far blocks have been checked against headers.
type CrossCheckStatus struct {
	CheckedHeight  uint64 `json:"checked_height"`
	Mismatches     uint64 `json:"mismatches"`
	LastMismatchAt uint64 `json:"last_mismatch_height,omitempty"`
	// Unreadable counts heights stepped over because the store could not
	// read them (corrupt data).
	Unreadable uint64 `json:"unreadable_heights,omitempty"`
}

// SequencerStatus reports block production.
type SequencerStatus struct {
	Produced   uint64 `json:"blocks_produced"`
	PendingTxs int    `json:"pending_txs"`
	// SignedHeight is the last height the sequencer signed (its signing
	// state); it never signs a height at or below it again.
	SignedHeight uint64 `json:"signed_height"`
	// WaitingForHeight, while not 0, is the height the sequencer needs from
	// its peers before it produces again (its data/ lacks what it signed).
	WaitingForHeight uint64 `json:"waiting_for_height,omitempty"`
	// Halted says why production stopped for good, if it did.
	Halted string `json:"halted,omitempty"`
}
