package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/ipfs/go-datastore"

	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/types"
)

// ErrBlockHeaderMismatch: a synced block's header differs from the synced
// header of the same height. Both are signed by the sequencer, so it signed
// two different blocks at one height.
var ErrBlockHeaderMismatch = errors.New("block does not match the header of the same height")

// checkBlockAgainstHeader is the full node's rule: the block synced at a
// height carries exactly the header synced at that height.
func checkBlockAgainstHeader(h, b heightHash) error {
	if h.Height() != b.Height() {
		return fmt.Errorf("%w: header height %d, block height %d", ErrBlockHeaderMismatch, h.Height(), b.Height())
	}
	if !bytes.Equal(h.Hash(), b.Hash()) {
		return fmt.Errorf("%w: height %d: header %s, block header %s", ErrBlockHeaderMismatch, h.Height(), h.Hash(), b.Hash())
	}
	return nil
}

// heightHash is what the cross-check compares of a header and a block.
type heightHash interface {
	Height() uint64
	Hash() header.Hash
}

// checkedHeightKey records how far the cross-check got, so a restart goes on
// from there.
var checkedHeightKey = datastore.NewKey("/crosscheck/height")

// crossCheckStats is what the cross-check reports, read by status and
// metrics.
type crossCheckStats struct {
	checked      atomic.Uint64 // highest height checked
	mismatches   atomic.Uint64
	unreadable   atomic.Uint64 // heights stepped over: the store could not read them
	lastMismatch atomic.Uint64 // height of the last mismatch
}

// crossChecker walks the heights both stores hold, in order, comparing each
// block with the header of its height, in any header format.
type crossChecker[H p2psync.Header[H], B p2psync.Header[B]] struct {
	*crossCheckStats
	headers     syncedChain[H]
	blocks      syncedChain[B]
	ds          datastore.Datastore
	genesis     *types.Genesis
	trustedHash header.Hash
	log         *slog.Logger
}

func (c *crossChecker[H, B]) run(ctx context.Context) {
	next, err := c.start(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Error("cross-check not running", "err", err)
		}
		return
	}
	defer c.save(context.Background())
	saved := time.Now()
	skips := 0 // jumps over heights below the base, for the log
	for {
		if caughtUp := next > min(c.headers.Height(), c.blocks.Height()); caughtUp || time.Since(saved) > 10*time.Second {
			c.save(ctx)
			saved = time.Now()
		}
		h, b, err := c.pair(ctx, next)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, header.ErrNotFound) {
			// Below a store's base there is nothing to compare: the
			// heights were pruned (a node that keeps a window), or never
			// fetched (one that began above them). Go on from the lowest
			// height both stores hold. A store raises its base before it
			// deletes, so a height found missing is below the base read
			// after.
			if base := c.base(); next < base {
				level := slog.LevelDebug
				if skips++; skips == 1 {
					level = slog.LevelInfo
				}
				c.log.Log(ctx, level, "cross-check: heights below the stores' base are not stored; going on from the base",
					"from", next, "base", base)
				next = base
				continue
			}
		}
		if errors.Is(err, store.ErrCorrupt) {
			// The store cannot read this height and never will: retrying
			// would stall the check there for good. Step over it; the
			// store has logged the damage, and headersync check names
			// every height it hit.
			if c.unreadable.Add(1) == 1 {
				c.log.Warn("cross-check: stepping over heights the store cannot read", "height", next, "err", err)
			} else {
				c.log.Debug("cross-check: stepping over a height the store cannot read", "height", next, "err", err)
			}
			c.checked.Store(next)
			next++
			continue
		}
		if err != nil {
			// A read failed; say so, and try the height again later.
			c.log.Error("cross-check: read header and block", "height", next, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		if err := checkBlockAgainstHeader(h, b); err != nil {
			c.mismatches.Add(1)
			c.lastMismatch.Store(next)
			c.log.Error("SEQUENCER EQUIVOCATION: synced block and synced header differ", "height", next,
				"header_hash", hex.EncodeToString(h.Hash()), "block_hash", hex.EncodeToString(b.Hash()), "err", err)
		}
		c.checked.Store(next)
		next++
	}
}

// base is the lowest height both stores hold (0 before either has a
// header).
func (c *crossChecker[H, B]) base() uint64 {
	return max(c.headers.Base(), c.blocks.Base())
}

// pair waits for the header and the block at height.
func (c *crossChecker[H, B]) pair(ctx context.Context, height uint64) (h H, b B, err error) {
	if h, err = c.headers.WaitHeight(ctx, height); err != nil {
		return h, b, fmt.Errorf("header %d: %w", height, err)
	}
	if b, err = c.blocks.WaitHeight(ctx, height); err != nil {
		return h, b, fmt.Errorf("block %d: %w", height, err)
	}
	return h, b, nil
}

// start returns the first height to check: after the saved one, else the
// height both stores began at (genesis or trusted header), once both have
// initialised. run moves on to the stores' base from there if it is
// higher.
func (c *crossChecker[H, B]) start(ctx context.Context) (uint64, error) {
	if raw, err := c.ds.Get(ctx, checkedHeightKey); err == nil && len(raw) == 8 {
		h := binary.BigEndian.Uint64(raw)
		c.checked.Store(h)
		return h + 1, nil
	} else if errors.Is(err, store.ErrCorrupt) {
		// Its own progress record is unreadable: check again from the
		// start rather than not at all. It costs time, not safety.
		c.log.Warn("cross-check: the saved checked height is unreadable; checking again from the first height", "err", err)
	} else if err != nil && !errors.Is(err, datastore.ErrNotFound) {
		return 0, fmt.Errorf("read checked height: %w", err)
	}
	if len(c.trustedHash) == 0 {
		return c.genesis.InitialHeight, nil
	}
	// Both stores start at the trusted header; learn its height once the
	// header service has it. Initialisation is rare and one-off, so polling
	// is fine here. A header store that holds headers but not the trusted
	// one has pruned it (or began elsewhere): the check begins at its base,
	// and run goes on from the blocks' base if that is higher.
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		h, err := c.headers.Get(ctx, c.trustedHash)
		switch {
		case err == nil:
			return h.Height(), nil
		case errors.Is(err, header.ErrNotFound) && c.headers.Base() != 0:
			return c.headers.Base(), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-t.C:
		}
	}
}

func (c *crossChecker[H, B]) save(ctx context.Context) {
	h := c.checked.Load()
	if h == 0 {
		return
	}
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], h)
	if err := c.ds.Put(ctx, checkedHeightKey, buf[:]); err != nil && ctx.Err() == nil {
		c.log.Warn("save cross-check height", "err", err)
	}
}
