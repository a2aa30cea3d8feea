package p2psync

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/celestiaorg/go-header"

	"github.com/headersync/headersync/store/headerstore"
	"github.com/headersync/headersync/types"
)

// ErrCorruptStore: a stored chain breaks one of the rules every chain must
// keep, or parts of it cannot be read.
var ErrCorruptStore = errors.New("corrupt store")

// StoreReport describes a chain VerifyStore checked.
type StoreReport struct {
	Empty bool // nothing stored yet
	// Base and Head are the lowest and highest stored heights: the chain
	// checked runs from Base to Head.
	Base, Head uint64
	// Begin is where the chain begins: the genesis initial height, or the
	// trusted header's height. It is 0 when the trusted header is not
	// stored (below the base, pruned), so its height is unknown.
	Begin uint64
	// Unreadable are the heights, ascending, whose header or height index
	// entry could not be read (a corrupt disk); the chain was checked around
	// them.
	Unreadable []uint64
}

// Windowed reports whether the store keeps only a window of the chain:
// its base is above where the chain begins, and the heights below the base
// are not stored (pruned, or never fetched by a node that began at the
// network head).
func (r StoreReport) Windowed() bool { return !r.Empty && r.Base > r.Begin }

// VerifyStore checks, offline, the chain a service of kind keeps in ds: from
// the stored head down to the store's base, every header is stored, valid,
// signed by the genesis sequencer, extends the one below it and is the one
// its hash index leads to. The base header is judged by checkBase: at the
// genesis initial height it is the genesis header, at the trusted header's
// height (trustedHash, if given; see TrustedBase) it is that header, and
// above where the chain begins (a store that keeps a window) it needs only
// to be valid and signed by the genesis key, as every header does: the
// headers above it are authenticated by their links down to it. It is what
// must hold after any crash.
//
// A chain in go-header's old layout is first moved to the new one, as a
// service starting on it would. A header or index entry that cannot be read
// is noted and stepped over,
// so that one report names every unreadable height; the error then wraps
// the first read error. Any other broken rule ends the check at once.
func VerifyStore[H Header[H]](ctx context.Context, ds Datastore, kind Kind, g *types.Genesis, trustedHash header.Hash) (StoreReport, error) {
	st, err := openStore[H](ctx, ds, kind, slog.New(slog.DiscardHandler))
	if err != nil {
		return StoreReport{}, fmt.Errorf("%w: %w", ErrCorruptStore, err)
	}
	head, err := st.Head(ctx)
	if errors.Is(err, header.ErrNoHead) {
		return StoreReport{Empty: true}, nil
	}
	if err != nil {
		return StoreReport{}, fmt.Errorf("%w: cannot read the %s chain's head: %w", ErrCorruptStore, kind, err)
	}
	begin := g.InitialHeight
	if len(trustedHash) != 0 {
		trusted, err := st.Get(ctx, trustedHash)
		switch {
		case errors.Is(err, header.ErrNotFound):
			// Below the base (a window pruned it), or not in this chain:
			// checkBase tells them apart where it can.
			begin = 0
		case err != nil:
			return StoreReport{}, fmt.Errorf("%w: trusted %s %s: %w", ErrCorruptStore, kind, trustedHash, err)
		case !bytes.Equal(trusted.Hash(), trustedHash):
			return StoreReport{}, fmt.Errorf("%w: hash index names height %d for the trusted %s %s, whose stored header is %s",
				ErrCorruptStore, trusted.Height(), kind, trustedHash, hex.EncodeToString(trusted.Hash()))
		default:
			begin = trusted.Height()
		}
	}
	if err := ofGenesis(g, head); err != nil {
		return StoreReport{}, fmt.Errorf("%w: %s %d (head): %w", ErrCorruptStore, kind, head.Height(), err)
	}

	rep := StoreReport{Base: st.Base(), Head: head.Height(), Begin: begin}
	var readErr error // the first read that failed
	unreadable := func(height uint64, err error) {
		rep.Unreadable = append(rep.Unreadable, height)
		if readErr == nil {
			readErr = err
		}
	}
	if err := checkIndexed(ctx, st, head); errors.Is(err, errIndexRead) {
		unreadable(head.Height(), err)
	} else if err != nil {
		return StoreReport{}, fmt.Errorf("%w: %s %d: %w", ErrCorruptStore, kind, head.Height(), err)
	}

	// Walk down from the head to the base: each header must be stored,
	// extend the one below it and be the one its hash index names. One that
	// cannot be read is noted and stepped over.
	above, lowest := head, head
	for height := head.Height() - 1; height >= rep.Base && height > 0; height-- {
		if err := ctx.Err(); err != nil {
			return StoreReport{}, err
		}
		cur, err := st.GetByHeight(ctx, height)
		if errors.Is(err, header.ErrNotFound) {
			return StoreReport{}, fmt.Errorf("%w: %s %d: not stored, though the chain runs from %d to %d: %w", ErrCorruptStore, kind, height, rep.Base, rep.Head, err)
		}
		if err != nil {
			if ctx.Err() != nil {
				return StoreReport{}, ctx.Err()
			}
			unreadable(height, fmt.Errorf("%s %d: %w", kind, height, err))
			var zero H
			above = zero
			continue
		}
		if err := ofGenesis(g, cur); err != nil {
			at := ""
			if cur.Height() == rep.Base {
				at = " (base)"
			}
			return StoreReport{}, fmt.Errorf("%w: %s %d%s: %w", ErrCorruptStore, kind, cur.Height(), at, err)
		}
		if !above.IsZero() {
			if err := cur.Verify(above); err != nil {
				return StoreReport{}, fmt.Errorf("%w: %s %d does not extend %s %d: %w", ErrCorruptStore, kind, above.Height(), kind, cur.Height(), err)
			}
		}
		if err := checkIndexed(ctx, st, cur); errors.Is(err, errIndexRead) {
			unreadable(height, err)
		} else if err != nil {
			return StoreReport{}, fmt.Errorf("%w: %s %d: %w", ErrCorruptStore, kind, cur.Height(), err)
		}
		above, lowest = cur, cur
	}
	// The base header is judged if it could be read.
	if lowest.Height() == rep.Base {
		if err := checkBase(g, trustedHash, begin, lowest); err != nil {
			return rep, fmt.Errorf("%w: the %s chain begins at %d: %w", ErrCorruptStore, kind, lowest.Height(), err)
		}
	}
	if len(rep.Unreadable) != 0 {
		slices.Sort(rep.Unreadable)
		return rep, fmt.Errorf("%w: cannot read %s %s: %w", ErrCorruptStore, plural(kind, len(rep.Unreadable)), listHeights(rep.Unreadable), readErr)
	}
	return rep, nil
}

// checkBase reports whether h, the lowest stored header, may begin the
// stored chain, which must begin at height begin (the genesis initial
// height, or the trusted header's; 0 if the trusted header is not stored).
// Where the chain begins, h is the header checkFirst trusts first. Above it
// (a window: the headers below were pruned, or never fetched by a node that
// began at the network head) h is held to what every header is: of the
// genesis chain, valid, its signature by the genesis key checked, and not
// from the future. Below a stored trusted header (filled backwards from it)
// the same holds. A chain that begins at the genesis initial height without
// holding the trusted header is not that header's chain.
func checkBase[H Header[H]](g *types.Genesis, trustedHash header.Hash, begin uint64, h H) error {
	switch {
	case h.Height() == begin:
		return checkFirst(g, trustedHash, false, h)
	case h.Height() < g.InitialHeight:
		return fmt.Errorf("%w: height %d, below the genesis initial height %d", ErrNotFirstHeader, h.Height(), g.InitialHeight)
	case begin == 0 && h.Height() == g.InitialHeight:
		return fmt.Errorf("%w: the chain holds every header from the genesis initial height %d, but not the trusted header %s",
			ErrNotFirstHeader, g.InitialHeight, hex.EncodeToString(trustedHash))
	}
	if err := checkSequencer(g, h); err != nil {
		return err
	}
	return checkFresh(h)
}

// errIndexRead: the hash index entry of a header could not be read.
var errIndexRead = errors.New("cannot read the hash index")

// checkIndexed reports whether the store's hash index leads to h.
func checkIndexed[H Header[H]](ctx context.Context, st *headerstore.Store[H], h H) error {
	indexed, err := st.Get(ctx, h.Hash())
	if errors.Is(err, header.ErrNotFound) {
		return fmt.Errorf("hash index has no entry for %d %s", h.Height(), hex.EncodeToString(h.Hash()))
	}
	if err != nil {
		return fmt.Errorf("%w at %d: %w", errIndexRead, h.Height(), err)
	}
	if indexed.Height() != h.Height() {
		return fmt.Errorf("hash index names height %d for %s, stored at %d", indexed.Height(), hex.EncodeToString(h.Hash()), h.Height())
	}
	return nil
}

// StoredHeight returns the height of the chain a service of kind keeps in ds
// (0 if empty), read before any service opens it: a sequencer compares it
// with what it signed to decide whether to recover from its peers.
func StoredHeight[H Header[H]](ctx context.Context, ds Datastore, kind Kind) (uint64, error) {
	st, err := openStore[H](ctx, ds, kind, slog.New(slog.DiscardHandler))
	if err != nil {
		return 0, err
	}
	return st.Height(), nil
}

// plural names n things of kind: "header", "blocks".
func plural(kind Kind, n int) string {
	if n == 1 {
		return string(kind)
	}
	return string(kind) + "s"
}

// maxListed bounds the heights an error lists.
const maxListed = 20

// listHeights lists ascending heights for a one-line message.
func listHeights(hs []uint64) string {
	var b strings.Builder
	for i, h := range hs {
		if i == maxListed {
			fmt.Fprintf(&b, " and %d more", len(hs)-maxListed)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatUint(h, 10))
	}
	return b.String()
}

// CheckStoredEnds checks that the chain a service of kind would resume from
// in ds belongs to genesis g: the stored head and the base header (the
// lowest stored: the genesis header, the trusted one, or where a window
// begins) are of g's chain and signed by g's sequencer key. A node whose
// genesis now names another key or chain than the one its data was synced
// for would otherwise resume, and serve peers, a chain the genesis does not
// name. An empty store passes. It reads two headers; VerifyStore checks
// them all.
func CheckStoredEnds[H Header[H]](ctx context.Context, ds Datastore, kind Kind, g *types.Genesis) error {
	st, err := openStore[H](ctx, ds, kind, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}

	head, err := st.Head(ctx)
	if errors.Is(err, header.ErrNoHead) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the stored %s head: %w", kind, err)
	}
	if err := ofGenesis(g, head); err != nil {
		return fmt.Errorf("stored %s %d (head): %w", kind, head.Height(), err)
	}
	base := st.Base()
	if base < g.InitialHeight {
		return fmt.Errorf("stored %s %d (base): below the genesis initial height %d", kind, base, g.InitialHeight)
	}
	first, err := st.GetByHeight(ctx, base)
	if err != nil {
		return fmt.Errorf("read the stored %s %d (base): %w", kind, base, err)
	}
	if err := ofGenesis(g, first); err != nil {
		return fmt.Errorf("stored %s %d (base): %w", kind, first.Height(), err)
	}
	return nil
}
