package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/celestiaorg/go-header"

	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/signstate"
	"github.com/headersync/headersync/types"
)

// loadSigningState reads the sequencer's signing state and compares it with
// the block store. It returns the guard (nil for a home from before signing
// state: migrateSigningState creates it once the stores are reconciled) and
// the height the stores must recover from peers before the sequencer may
// publish: the height below its last signed block, when the block store
// lacks it (data/ wiped, or restored from an older copy); else 0.
func (n *Node) loadSigningState(ctx context.Context) (*signstate.Guard, uint64, error) {
	guard, err := signstate.Load(n.opts.SigningState, n.opts.Signer, n.genesis)
	if errors.Is(err, signstate.ErrNoState) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	last := guard.Last()
	if last == nil || last.Height() == n.genesis.InitialHeight {
		return guard, 0, nil
	}
	stored, err := p2psync.StoredHeight[*types.Block](ctx, n.ds, p2psync.Blocks)
	if err != nil {
		return nil, 0, err
	}
	need := last.Height() - 1
	if stored >= need {
		return guard, 0, nil // at most the last block is missing: reconcile publishes it
	}
	n.log.Warn("the block store is behind the last block this sequencer signed; syncing the chain from peers before producing",
		"signed_height", last.Height(), "stored_height", stored, "need_height", need, "signing_state", n.opts.SigningState)
	return guard, need, nil
}

// migrateSigningState creates the signing state of a home from before it,
// from the last block the (reconciled) block store holds.
func (n *Node) migrateSigningState(ctx context.Context) (*signstate.Guard, error) {
	head, err := n.native.blocks.Head(ctx)
	switch {
	case errors.Is(err, header.ErrNoHead):
		head = nil
	case err != nil:
		return nil, fmt.Errorf("migrate signing state: read block head: %w", err)
	}
	guard, err := signstate.Migrate(n.opts.SigningState, n.opts.Signer, n.genesis, head)
	if err != nil {
		return nil, err
	}
	n.log.Warn("created the signing state from the stored head (home from before signing state); back it up with the key",
		"height", guard.Height(), "signing_state", n.opts.SigningState)
	return guard, nil
}
