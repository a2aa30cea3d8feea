package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/ipfs/go-datastore"

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
// A signed block is written to a journal, synced, before either store sees
// it: go-header's store makes an appended header visible (to the API and to
// peers asking the exchange) before it is on disk, so a crash could lose a
// block peers have seen. On restart the journal's block is published again,
// signature and all, rather than signing a different block at its height.
// Each publish returns only once durable, so at most that one block can be
// missing from the stores.
type producer struct {
	signer    *types.Signer
	genesis   *types.Genesis
	blockTime time.Duration
	headers   *p2psync.Service[*types.SignedHeader]
	blocks    *p2psync.Service[*types.Block]
	pool      *mempool
	journal   datastore.Datastore // holds the last block signed, under journalKey
	log       *slog.Logger

	produced atomic.Uint64
	lastLog  time.Time // of the last failure logged; run's goroutine only
}

// journalKey holds the last block the sequencer signed.
var journalKey = datastore.NewKey("/sequencer/last-block")

// reconcile brings the stores up to the last block signed: the journal's
// block into the block store, then headers the header store misses from
// their blocks. Normally there is nothing to do; after a crash, one block.
func (p *producer) reconcile(ctx context.Context) error {
	if err := p.recoverJournal(ctx); err != nil {
		return err
	}
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

// recoverJournal publishes the journal's block if the block store lacks it.
func (p *producer) recoverJournal(ctx context.Context) error {
	raw, err := p.journal.Get(ctx, journalKey)
	if errors.Is(err, datastore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read block journal: %w", err)
	}
	var b types.Block
	if err := b.UnmarshalBinary(raw); err != nil {
		return fmt.Errorf("block journal: %w", err)
	}
	bh := p.blocks.Height()
	switch want := max(bh+1, p.genesis.InitialHeight); {
	case b.Height() < want:
		return nil // already stored
	case b.Height() > want:
		return fmt.Errorf("block journal holds block %d but the block store is at %d: blocks are missing; refusing to extend the chain", b.Height(), bh)
	}
	if err := p.blocks.Publish(ctx, &b); err != nil && !errors.Is(err, p2psync.ErrBroadcastFailed) {
		return fmt.Errorf("recover block %d from the journal: %w", b.Height(), err)
	}
	p.log.Info("recovered block from the journal", "height", b.Height(), "hash", b.Hash().String())
	return nil
}

// produce makes one block.
func (p *producer) produce(ctx context.Context) error {
	if err := p.reconcile(ctx); err != nil {
		return err
	}
	txs := p.pool.take(maxBlockTxBytes)
	data := types.Data{Txs: blockTxs(txs)}
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
	block := types.NewBlock(sh, data)
	enc, err := block.MarshalBinary()
	if err != nil {
		p.pool.putBack(txs)
		return fmt.Errorf("encode block %d: %w", sh.Height(), err)
	}
	// One batch journals the block and removes its transactions from the
	// queue on disk, so they are never in a journaled block and queued.
	if err := p.pool.commitBlock(ctx, journalKey, enc, txs); err != nil {
		p.pool.putBack(txs)
		return fmt.Errorf("journal block %d: %w", sh.Height(), err)
	}
	// From here the block is committed to: if publishing fails, the next
	// reconcile publishes it from the journal, transactions included.
	if err := p.blocks.Publish(ctx, block); err != nil && !errors.Is(err, p2psync.ErrBroadcastFailed) {
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
