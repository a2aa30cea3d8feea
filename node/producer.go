package node

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/ipfs/go-datastore"

	"github.com/headersync/headersync/internal/every"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/signstate"
	"github.com/headersync/headersync/types"
)

// producer is the sequencer's block production: every block time it takes
// queued transactions, signs the next header and publishes the block, then
// the header. Each step is on disk before the next begins:
//
//  1. the signing state records the signed block (signstate.Guard): no
//     height is ever signed twice, whatever happens to data/;
//  2. one batch journals the block and takes its transactions out of the
//     queue on disk (mempool.commitBlock): a transaction is in a journaled
//     block or queued, never both;
//  3. the block store, then the header store, take it; each publish returns
//     only once durable.
//
// Blocks go first because a block carries its signed header: if the node
// dies between the two, the header is recovered from the block on restart
// (reconcile). The other order could lose a block's transactions for good.
// go-header's store makes an appended header visible (to the API and to
// peers asking the exchange) before it is on disk, so a crash could lose a
// block peers have seen: on restart the block the signing state (or the
// journal) holds is published again, signature and all, rather than a
// different block signed at its height.
type producer struct {
	guard     *signstate.Guard // signs, recording each block before it leaves
	genesis   *types.Genesis
	blockTime time.Duration
	headers   chainReader[*types.SignedHeader]
	blocks    chainReader[*types.Block]
	// publishHeaders and publishBlocks are the sequencer's side of the
	// two services.
	publishHeaders publisher[*types.SignedHeader]
	publishBlocks  publisher[*types.Block]
	pool           *mempool
	journal        datastore.Datastore // holds the last block signed, under journalKey
	peers          func() int          // connected peers, for the lonely warning
	log            *slog.Logger

	produced atomic.Uint64
	failLog  every.Interval // a failing disk fails every tick: said once a minute
	lonely   every.Interval // the "no peers" warning, once a minute
	// reconciled is set once the stores hold everything signed, and
	// cleared when a block fails part-way; run's goroutine (or the start
	// before it) only.
	reconciled bool
	// recovering is set while the stores sync the chain back from peers
	// (awaitChain); halted holds why production stopped for good.
	recovering atomic.Bool
	halted     atomic.Pointer[string]
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
	if err := p.recoverSigned(ctx); err != nil {
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
		if err := p.publishHeaders.Publish(ctx, b.SignedHeader()); err != nil && !errors.Is(err, p2psync.ErrBroadcastFailed) {
			return fmt.Errorf("recover header %d from its block: %w", h, err)
		}
		p.log.Info("recovered header from its block", "height", h)
	}
	p.reconciled = true
	return nil
}

// recoverJournal publishes the journal's block if the block store lacks it.
func (p *producer) recoverJournal(ctx context.Context) error {
	b, err := p.readJournal(ctx)
	if err != nil || b == nil {
		return err
	}
	bh := p.blocks.Height()
	switch want := max(bh+1, p.genesis.InitialHeight); {
	case b.Height() < want:
		return nil // already stored
	case b.Height() > want:
		return fmt.Errorf("block journal holds block %d but the block store is at %d: blocks are missing; refusing to extend the chain", b.Height(), bh)
	}
	if err := p.publishBlocks.Publish(ctx, b); err != nil && !errors.Is(err, p2psync.ErrBroadcastFailed) {
		return fmt.Errorf("recover block %d from the journal: %w", b.Height(), err)
	}
	p.log.Info("recovered block from the journal", "height", b.Height(), "hash", hex.EncodeToString(b.Hash()))
	return nil
}

// recoverSigned brings the block store and the signing state together. The
// state is written before a block leaves the signer, so after a crash the
// store may lack that one block: it is published again, signature and all.
// A store above the state means the state was restored from an older backup
// than data/: the stored blocks prove what was signed, and the state
// advances to them. (A store more than one block behind is recovered from
// peers before this runs: see awaitChain.)
func (p *producer) recoverSigned(ctx context.Context) error {
	if p.guard == nil {
		return nil // a home from before signing state: migrated after reconcile
	}
	bh := p.blocks.Height()
	last := p.guard.Last()
	if last == nil {
		if bh == 0 {
			return nil
		}
		return p.advance(ctx, 0)
	}
	switch {
	case bh+1 == last.Height() || (bh == 0 && last.Height() == p.genesis.InitialHeight):
		if err := p.journalSigned(ctx, last); err != nil {
			return err
		}
		if err := p.publishBlocks.Publish(ctx, last); err != nil && !errors.Is(err, p2psync.ErrBroadcastFailed) {
			return fmt.Errorf("publish the last signed block %d again: %w", last.Height(), err)
		}
		p.log.Info("published the last signed block again", "height", last.Height(), "hash", hex.EncodeToString(last.Hash()))
		return nil
	case bh < last.Height():
		return fmt.Errorf("block store at height %d is behind the last block signed, %d: %w", bh, last.Height(), errBehindSigned)
	}
	stored, err := p.blocks.GetByHeight(ctx, last.Height())
	if err != nil {
		return fmt.Errorf("read block %d: %w", last.Height(), err)
	}
	if !bytes.Equal(stored.Hash(), last.Hash()) {
		return fmt.Errorf("%w: the stored block %d is %s, the signing state holds %s", errForeignChain, last.Height(), hex.EncodeToString(stored.Hash()), hex.EncodeToString(last.Hash()))
	}
	if bh > last.Height() {
		return p.advance(ctx, last.Height())
	}
	return nil
}

// readJournal returns the journal's block, nil if there is none.
func (p *producer) readJournal(ctx context.Context) (*types.Block, error) {
	raw, err := p.journal.Get(ctx, journalKey)
	if errors.Is(err, datastore.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read block journal: %w", err)
	}
	var b types.Block
	if err := b.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("block journal: %w", err)
	}
	return &b, nil
}

// journalSigned journals last, the block the signing state holds, unless
// the journal has it already: the crash (or failed write) came between the
// signing state and the journal, so the block's transactions are still
// queued. They leave the queue in the same write that journals the block,
// as in produce; published without that, they would go into a second block.
func (p *producer) journalSigned(ctx context.Context, last *types.Block) error {
	journaled, err := p.readJournal(ctx)
	if err != nil {
		return err
	}
	if journaled != nil && journaled.Height() >= last.Height() {
		return nil
	}
	enc, err := last.MarshalBinary()
	if err != nil {
		return fmt.Errorf("encode block %d: %w", last.Height(), err)
	}
	taken := p.pool.takeCarried(last.Data().Txs)
	if err := p.pool.commitBlock(ctx, journalKey, enc, taken); err != nil {
		p.pool.putBack(taken)
		return fmt.Errorf("journal the last signed block %d: %w", last.Height(), err)
	}
	return nil
}

// advance moves the signing state up to the stored block head.
func (p *producer) advance(ctx context.Context, from uint64) error {
	head, err := p.blocks.Head(ctx)
	if err != nil {
		return fmt.Errorf("read block head: %w", err)
	}
	if err := p.guard.Advance(head); err != nil {
		return err
	}
	p.log.Warn("the signing state was behind the stored blocks (restored from an older backup?); advanced it",
		"from", from, "to", head.Height())
	return nil
}

var (
	// errBehindSigned: the stores lack blocks this sequencer signed.
	errBehindSigned = errors.New("the stores lack blocks this sequencer signed")
	// errForeignChain: the chain held here or by peers is not the one this
	// sequencer signed. Production stops: extending it would fork.
	errForeignChain = errors.New("the chain does not link to the blocks this sequencer signed")
)

// awaitChain runs while the stores sync the chain back from peers: it waits
// until both hold the height below the last block signed, checks that the
// chain there is the one that block extends, and ends the services'
// recovery. Until then it says what it waits for, in the log and in status.
func (p *producer) awaitChain(ctx context.Context) error {
	last := p.guard.Last()
	need := last.Height() - 1
	poll := time.NewTicker(min(p.blockTime, 250*time.Millisecond))
	defer poll.Stop()
	began := time.Now()
	waiting := every.Interval{Period: 10 * time.Second}
	waiting.Allow() // the first line after 10 s: a quick recovery says nothing
	for p.headers.Height() < need || p.blocks.Height() < need {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-poll.C:
		}
		if waiting.Allow() {
			p.log.Warn("not producing: waiting for peers to provide the chain this sequencer signed",
				"need_height", need, "headers", p.headers.Height(), "blocks", p.blocks.Height(),
				"waited", time.Since(began).Round(time.Second))
		}
	}
	b, err := p.blocks.GetByHeight(ctx, need)
	if err != nil {
		return fmt.Errorf("read synced block %d: %w", need, err)
	}
	sh, err := p.headers.GetByHeight(ctx, need)
	if err != nil {
		return fmt.Errorf("read synced header %d: %w", need, err)
	}
	for what, got := range map[string]header.Hash{"block": b.Hash(), "header": sh.Hash()} {
		if !bytes.Equal(got, last.LastHeader()) {
			return fmt.Errorf("%w: peers gave %s %d %s, but the signed block %d extends %s",
				errForeignChain, what, need, hex.EncodeToString(got), last.Height(), hex.EncodeToString(last.LastHeader()))
		}
	}
	if err := p.publishBlocks.FinishRecovery(ctx); err != nil {
		return err
	}
	if err := p.publishHeaders.FinishRecovery(ctx); err != nil {
		return err
	}
	if err := p.reconcile(ctx); err != nil {
		return err
	}
	p.recovering.Store(false)
	p.log.Info("recovered the signed chain from peers; producing again", "height", p.blocks.Height(),
		"took", time.Since(began).Round(time.Millisecond))
	return nil
}

// produce makes one block.
func (p *producer) produce(ctx context.Context) (err error) {
	if !p.reconciled {
		if err := p.reconcile(ctx); err != nil {
			return err
		}
	}
	// A block that failed part-way (a publish, the journal) is finished by
	// the next reconcile, before anything new is signed.
	defer func() {
		if err != nil {
			p.reconciled = false
		}
	}()
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
	block, err := p.guard.SignBlock(h, data)
	if err != nil {
		p.pool.putBack(txs)
		return fmt.Errorf("sign block %d: %w", h.Height, err)
	}
	sh := block.SignedHeader()
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
	if err := p.publishBlocks.Publish(ctx, block); err != nil && !errors.Is(err, p2psync.ErrBroadcastFailed) {
		return fmt.Errorf("publish block %d: %w", sh.Height(), err)
	}
	// If this fails, the next reconcile publishes the header from its block.
	if err := p.publishHeaders.Publish(ctx, sh); err != nil && !errors.Is(err, p2psync.ErrBroadcastFailed) {
		return fmt.Errorf("publish header %d: %w", sh.Height(), err)
	}
	p.produced.Add(1)
	p.log.Debug("produced block", "height", sh.Height(), "txs", len(txs), "hash", hex.EncodeToString(sh.Hash()))
	return nil
}

// run produces a block every block time until ctx ends, after recovering
// the chain from peers if the stores lack what was signed.
func (p *producer) run(ctx context.Context) {
	if p.recovering.Load() {
		if err := p.awaitChain(ctx); err != nil {
			if ctx.Err() == nil {
				msg := err.Error()
				p.halted.Store(&msg)
				p.log.Error("not producing blocks: restart once the cause is fixed", "err", err)
			}
			return
		}
	}
	p.lonely.Allow() // peers get a minute to connect before the first warning
	t := time.NewTicker(p.blockTime)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.warnIfAlone()
		if err := p.produce(ctx); err != nil && ctx.Err() == nil {
			if p.failLog.Allow() {
				p.log.Error("block production failed; retrying every block time", "err", err)
			}
		}
	}
}

// lonelyEvery is how often a sequencer without peers says so.
const lonelyEvery = time.Minute

// warnIfAlone warns, once a minute, while the sequencer has no peer: it
// keeps producing, but nobody receives its blocks.
func (p *producer) warnIfAlone() {
	if p.peers == nil || p.peers() > 0 || !p.lonely.Allow() {
		return
	}
	p.log.Warn("producing with no connected peers: nobody receives these blocks until a node connects",
		"height", p.blocks.Height())
}
