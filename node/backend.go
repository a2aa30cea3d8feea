package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/celestiaorg/go-header"

	"github.com/headersync/headersync/api"
	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/types"
)

// Version is the node software version, reported by the API and CLI.
var Version = "0.1.0-dev"

var _ api.Backend = (*Node)(nil)

// Status reports the node's state for the API.
func (n *Node) Status(ctx context.Context) api.Status {
	st := api.Status{
		Role:    string(n.cfg.Role),
		ChainID: n.cfg.ChainID,
		PeerID:  n.p2p.ID().String(),
		Version: Version,
		Peers:   []api.PeerStatus{},
	}
	for _, a := range n.p2p.Addrs() {
		st.ListenAddrs = append(st.ListenAddrs, a.String())
	}
	for _, p := range n.p2p.Peers() {
		ps := api.PeerStatus{
			ID: p.ID.String(), Direction: p.Direction, Addr: p.Addr.String(), ConnectedSince: p.ConnectedSince,
			LatencyMS: float64(p.Latency.Microseconds()) / 1000, Chain: p.Chain,
			Services: map[string]p2psync.PeerState{string(p2psync.Headers): n.headers.PeerState(p.ID)},
		}
		if n.blocks != nil {
			ps.Services[string(p2psync.Blocks)] = n.blocks.PeerState(p.ID)
		}
		st.Peers = append(st.Peers, ps)
	}
	hs := n.headers.State(ctx)
	st.Headers = &hs
	if n.blocks != nil {
		bs := n.blocks.State(ctx)
		st.Blocks = &bs
	}
	if n.checker != nil {
		st.CrossCheck = &api.CrossCheckStatus{
			CheckedHeight:  n.checker.checked.Load(),
			Mismatches:     n.checker.mismatches.Load(),
			LastMismatchAt: n.checker.lastMismatch.Load(),
			Unreadable:     n.checker.unreadable.Load(),
		}
	}
	if n.producer != nil {
		st.Sequencer = sequencerStatus(n.producer)
	}
	return st
}

// HeadView returns the stored head header as the API shows it.
func (n *Node) HeadView(ctx context.Context) (api.HeaderJSON, error) { return n.chain.head(ctx) }

// HeaderView returns the stored header at height as the API shows it.
func (n *Node) HeaderView(ctx context.Context, height uint64) (api.HeaderJSON, error) {
	return n.chain.headerAt(ctx, height)
}

// HeaderViewByHash returns the stored header with the hash as the API
// shows it.
func (n *Node) HeaderViewByHash(ctx context.Context, hash header.Hash) (api.HeaderJSON, error) {
	return n.chain.headerByHash(ctx, hash)
}

// BlockView returns the stored block at height as the API shows it.
func (n *Node) BlockView(ctx context.Context, height uint64) (api.BlockJSON, error) {
	return n.chain.blockAt(ctx, height)
}

// ErrNotNative: a typed read of the native format on a node of another.
var ErrNotNative = errors.New("the node's chain is not in the native format")

// HeadHeader returns the stored head header of a native-format node.
func (n *Node) HeadHeader(ctx context.Context) (*types.SignedHeader, error) {
	if n.native == nil {
		return nil, ErrNotNative
	}
	h, err := n.native.headers.Head(ctx)
	if errors.Is(err, header.ErrNoHead) {
		return nil, fmt.Errorf("%w: header service waiting for %s", api.ErrNotReady, n.headers.State(ctx).WaitingFor)
	}
	return h, corruptAt("the head", err)
}

// HeaderByHeight returns the stored header at height of a native-format
// node.
func (n *Node) HeaderByHeight(ctx context.Context, height uint64) (*types.SignedHeader, error) {
	if n.native == nil {
		return nil, ErrNotNative
	}
	h, err := n.native.headers.GetByHeight(ctx, height)
	return h, corruptAt(fmt.Sprintf("height %d", height), err)
}

// BlockByHeight returns the stored block at height of a native-format node.
func (n *Node) BlockByHeight(ctx context.Context, height uint64) (*types.Block, error) {
	switch {
	case n.native == nil:
		return nil, ErrNotNative
	case n.native.blocks == nil:
		return nil, api.ErrNoBlocks
	}
	b, err := n.native.blocks.GetByHeight(ctx, height)
	var pruned *p2psync.PrunedError
	if errors.Is(err, header.ErrNotFound) && !errors.As(err, &pruned) {
		return nil, errBlockNotFound{}
	}
	return b, corruptAt(fmt.Sprintf("height %d", height), err)
}

// corruptAt turns a read of what that hit corrupt data into the API's one
// line for it; other errors pass unchanged. The node goes on serving what it
// can read, so the line says where the damage is and what to do about it.
func corruptAt(what string, err error) error {
	var corrupt *store.CorruptError
	if !errors.As(err, &corrupt) {
		return err
	}
	return fmt.Errorf("%w at %s: %s; run headersync check", api.ErrStoreCorrupt, what, corrupt.Detail())
}

// errBlockNotFound is header.ErrNotFound to errors.Is, so the API answers
// 404, but reads as what is missing: go-header's text, "header: not
// found", misleads for a block.
type errBlockNotFound struct{}

func (errBlockNotFound) Error() string        { return "not found" }
func (errBlockNotFound) Is(target error) bool { return target == header.ErrNotFound }

// SubmitTx queues a transaction for the next block (sequencer only). It
// returns once the transaction is on disk, so it survives any stop.
func (n *Node) SubmitTx(ctx context.Context, tx []byte) (int, error) {
	if n.cfg.Role != config.RoleSequencer || n.producer == nil {
		return 0, fmt.Errorf("%w: this is a %s node", api.ErrNotSequencer, n.cfg.Role)
	}
	pending, err := n.producer.pool.add(ctx, tx)
	return pending, submitError(err)
}

// submitError maps the queue's errors onto the api's kinds, which decide
// the HTTP status, keeping their text; other errors pass unchanged.
func submitError(err error) error {
	for _, m := range []struct{ own, api error }{
		{ErrEmptyTx, api.ErrEmptyTx},
		{ErrTxTooLarge, api.ErrTxTooLarge},
		{ErrQueueFull, api.ErrQueueFull},
	} {
		if errors.Is(err, m.own) {
			return &kindError{err: err, kind: m.api}
		}
	}
	return err
}

// kindError is err, also matching kind with errors.Is.
type kindError struct{ err, kind error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }

// sequencerStatus reports production for the API.
func sequencerStatus(p *producer) *api.SequencerStatus {
	st := &api.SequencerStatus{Produced: p.produced.Load(), PendingTxs: p.pool.len()}
	if p.guard != nil {
		st.SignedHeight = p.guard.Height()
		if p.recovering.Load() {
			st.WaitingForHeight = st.SignedHeight - 1
		}
	}
	if msg := p.halted.Load(); msg != nil {
		st.Halted = *msg
	}
	return st
}
