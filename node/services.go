package node

import (
	"context"

	"github.com/celestiaorg/go-header"
)

// The producer and the cross-check are given what they use of a sync
// service, not the service: the interfaces below, which
// *p2psync.Service[H] satisfies. The sequencer's publishing side is apart
// from the reads because it belongs to the sequencer alone.

// chainReader is what the producer reads of a service's store.
type chainReader[H any] interface {
	// Height is the stored head's height, 0 before the first header.
	Height() uint64
	// Head is the stored head, or header.ErrNoHead.
	Head(ctx context.Context) (H, error)
	// GetByHeight is the stored header at a height, without waiting.
	GetByHeight(ctx context.Context, height uint64) (H, error)
}

// publisher is the sequencer's side of a service.
type publisher[H any] interface {
	// Publish stores h, durably, and broadcasts it; an error wrapping
	// p2psync.ErrBroadcastFailed means stored but not broadcast.
	Publish(ctx context.Context, h H) error
	// FinishRecovery ends the recovery of the sequencer's own chain from
	// its peers, after which Publish is allowed.
	FinishRecovery(ctx context.Context) error
}

// syncedChain is what the cross-check reads of a service's store.
type syncedChain[H any] interface {
	// Height is the stored head's height, 0 before the first header.
	Height() uint64
	// Base is the lowest stored height, 0 before the first header: a
	// store that keeps a window deletes the heights below it.
	Base() uint64
	// WaitHeight is the header at a height, waiting until it is stored;
	// header.ErrNotFound below the base.
	WaitHeight(ctx context.Context, height uint64) (H, error)
	// Get is the stored header with a hash, or header.ErrNotFound.
	Get(ctx context.Context, hash header.Hash) (H, error)
}
