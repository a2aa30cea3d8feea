package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/p2psync"
)

// ErrStoreNotOfGenesis: the data dir holds a chain the genesis does not
// name: signed by another key, or of another chain ID.
var ErrStoreNotOfGenesis = errors.New("the stored chain is not the genesis chain")

// checkStoredChains refuses a data dir whose stored chains the genesis does
// not name. Every header a node accepts from peers must be signed by the
// genesis key, but one resumed from its own store was never checked again:
// after genesis.json was replaced by one naming a new sequencer key, a full
// node served the old key's headers as if nothing had changed.
func (n *Node) checkStoredChains(ctx context.Context) error {
	err := n.chain.checkStored(ctx, n.ds, n.genesis, n.cfg.Role == config.RoleLight)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, p2psync.ErrNotSequencerKey), errors.Is(err, p2psync.ErrWrongChain):
		// One line: what was found, what the genesis expects, and why
		// that stops the node.
		return fmt.Errorf("%w: %w (the data dir holds another chain, or genesis.json changed; refusing to start)", ErrStoreNotOfGenesis, err)
	default:
		return fmt.Errorf("check stored chains against the genesis: %w", err)
	}
}
