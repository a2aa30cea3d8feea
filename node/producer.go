package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/celestiaorg/go-header"

	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
)

// producer is the sequencer's block production: every block time it takes
// queued transactions, signs the next header and publishes the block, then
// the header.
//
// Blocks go first because a block carries its signed header: if the node
// dies between the two, the header is recovered from the block on restart
// (reconcile). The other order could lose a block's transactions for good.
// Both publishes return only once durable, so no height is ever signed
// twice.
type producer struct {
	signer    *types.Signer
	genesis   *types.Genesis
	blockTime time.Duration
	headers   *p2psync.Service[*types.SignedHeader]
	blocks    *p2psync.Service[*types.Block]
	pool      *mempool
	log       *slog.Logger

	produced atomic.Uint64
	lastLog  time.Time // of the last failure logged; run's goroutine only
}

// reconcile republishes headers the header store misses but the block store
// has; normally none, at most one after a crash.
func (p *producer) reconcile(ctx context.Context) error {
	bh, hh := p.blocks.Height(), p.headers.Height()
	if hh > bh {
		return fmt.Errorf("header store at height %d is ahead of block store at %d: blocks are missing; refusing to extend the chain", hh, bh)
	}
	from := hh + 1
	if hh == 0 {
		from = p.genesis.InitialHeight
	}
	for h := from; bh != 0 && h <= bh; h++ {
		b, err := p.blocks.GetByHeight(ctx, h)
		if err != nil {
			return fmt.Errorf("recover header %d from its block: %w", h, err)
		}
		if err := p.headers.Publish(ctx, b.SignedHeader()); err != nil && !errors.Is(err, p2psync.ErrBroadcastFailed) {
			return fmt.Errorf("recover header %d from its block: %w", h, err)
		}
		p.log.Info("recovered header from its block", "height", h)
	}
	return nil
}

// produce makes one block.
func (p *producer) produce(ctx context.Context) error {
	if err := p.reconcile(ctx); err != nil {
		return err
	}
	txs := p.pool.take(maxBlockTxBytes)
	data := types.Data{Txs: txs}
	now := time.Now().UTC()

	var h types.Header
	prev, err := p.blocks.Head(ctx)
	switch {
	case errors.Is(err, header.ErrNoHead):
		h = types.FirstHeader(p.genesis, now, &data)
	case err != nil:
		p.pool.putBack(txs)
		return fmt.Errorf("read last block: %w", err)
	default:
		if now.Before(prev.Time()) {
			now = prev.Time() // the clock went back: block times must not
		}
		h = types.NextHeader(prev.SignedHeader(), now, &data)
	}
	sh, err := p.signer.Sign(h)
	if err != nil {
		p.pool.putBack(txs)
		return fmt.Errorf("sign header %d: %w", h.Height, err)
	}
	if err := p.blocks.Publish(ctx, types.NewBlock(sh, data)); err != nil && !errors.Is(err, p2psync.ErrBroadcastFailed) {
		if p.blocks.Height() < sh.Height() {
			p.pool.putBack(txs)
		}
		return fmt.Errorf("publish block %d: %w", sh.Height(), err)
	}
	// If this fails, the next reconcile publishes the header from its block.
	if err := p.headers.Publish(ctx, sh); err != nil && !errors.Is(err, p2psync.ErrBroadcastFailed) {
		return fmt.Errorf("publish header %d: %w", sh.Height(), err)
	}
	p.produced.Add(1)
	p.log.Debug("produced block", "height", sh.Height(), "txs", len(txs), "hash", sh.Hash().String())
	return nil
}

// run produces a block every block time until ctx ends.
func (p *producer) run(ctx context.Context) {
	t := time.NewTicker(p.blockTime)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := p.produce(ctx); err != nil && ctx.Err() == nil {
			// A failing disk fails every tick: say so once a minute.
			if time.Since(p.lastLog) > time.Minute {
				p.log.Error("block production failed; retrying every block time", "err", err)
				p.lastLog = time.Now()
			}
		}
	}
}
