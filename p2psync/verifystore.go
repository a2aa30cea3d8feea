package p2psync

import (
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
	Empty      bool   // nothing stored yet
	From, Head uint64 // the first and last heights checked
	// Unreadable are the heights, ascending, whose header or height index
	// entry could not be read (a corrupt disk); the chain was checked around
	// them.
	Unreadable []uint64
}

// VerifyStore checks, offline, the chain a service of kind keeps in ds: from
// the stored head down to the store's base, every header is stored, valid,
// signed by the genesis sequencer, extends the one below it and is the one
// its hash index leads to; the first is the genesis header, or the one with
// trustedHash if given (see TrustedBase). It is what must hold after any
// crash.
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
	if len(trustedHash) != 0 {
		if _, err := st.Get(ctx, trustedHash); err != nil {
			return StoreReport{}, fmt.Errorf("%w: trusted %s %s: %w", ErrCorruptStore, kind, trustedHash, err)
		}
	}
	if err := ofGenesis(g, head); err != nil {
		return StoreReport{}, fmt.Errorf("%w: %s %d (head): %w", ErrCorruptStore, kind, head.Height(), err)
	}

	rep := StoreReport{Head: head.Height(), From: st.Base()}
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
	for height := head.Height() - 1; height >= rep.From && height > 0; height-- {
		if err := ctx.Err(); err != nil {
			return StoreReport{}, err
		}
		cur, err := st.GetByHeight(ctx, height)
		if errors.Is(err, header.ErrNotFound) {
			return StoreReport{}, fmt.Errorf("%w: %s %d: not stored, though the chain runs from %d to %d: %w", ErrCorruptStore, kind, height, rep.From, rep.Head, err)
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
			return StoreReport{}, fmt.Errorf("%w: %s %d: %w", ErrCorruptStore, kind, cur.Height(), err)
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
	// The first header is judged if it could be read.
	if lowest.Height() == rep.From {
		if err := checkFirst(g, trustedHash, false, lowest); err != nil {
			return rep, fmt.Errorf("%w: the %s chain begins at %d: %w", ErrCorruptStore, kind, lowest.Height(), err)
		}
	}
	if len(rep.Unreadable) != 0 {
		slices.Sort(rep.Unreadable)
		return rep, fmt.Errorf("%w: cannot read %s %s: %w", ErrCorruptStore, plural(kind, len(rep.Unreadable)), listHeights(rep.Unreadable), readErr)
	}
	return rep, nil
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
// in ds belongs to genesis g: the stored head, and the first stored header
// (the trusted base, or the genesis header; see TrustedBase), are of g's
// chain and signed by g's sequencer key. A node whose genesis now names
// another key or chain than the one its data was synced for would otherwise
// resume, and serve peers, a chain the genesis does not name. An empty store
// passes; a first header not found where expected (a store begun from a
// trusted hash before its base was recorded) is not checked. It reads two
// headers; VerifyStore checks them all.
func CheckStoredEnds[H Header[H]](ctx context.Context, ds Datastore, kind Kind, g *types.Genesis, configuredTrust header.Hash) error {
	trusted, err := TrustedBase(ctx, ds, kind, configuredTrust)
	if err != nil {
		return err
	}
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
	var first H
	switch {
	case len(trusted) != 0:
		first, err = st.Get(ctx, trusted)
	case head.Height() >= g.InitialHeight: // GetByHeight waits for a height above the head
		first, err = st.GetByHeight(ctx, g.InitialHeight)
	default:
		return fmt.Errorf("stored %s %d (head): below the genesis initial height %d", kind, head.Height(), g.InitialHeight)
	}
	if errors.Is(err, header.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the first stored %s: %w", kind, err)
	}
	if err := ofGenesis(g, first); err != nil {
		return fmt.Errorf("stored %s %d (first): %w", kind, first.Height(), err)
	}
	return nil
}
