package p2psync

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/celestiaorg/go-header"
	hstore "github.com/celestiaorg/go-header/store"
	"github.com/ipfs/go-datastore"

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
// the stored head back to its first header, every header is valid, signed
// by the genesis sequencer, extends the one below it and is the one the
// height index names; the first is the genesis header, or the one with
// trustedHash if given (see TrustedBase). It is what must hold after any
// crash.
//
// A header or index entry that cannot be read is noted and stepped over,
// so that one report names every unreadable height; the error then wraps
// the first read error. Any other broken rule ends the check at once.
func VerifyStore[H Header[H]](ctx context.Context, ds datastore.Batching, kind Kind, g *types.Genesis, trustedHash header.Hash) (StoreReport, error) {
	st, closeStore, err := openReadOnly[H](ctx, ds, kind)
	if err != nil {
		return StoreReport{}, err
	}
	defer closeStore()

	head, err := st.Head(ctx)
	if errors.Is(err, header.ErrNoHead) {
		return StoreReport{Empty: true}, nil
	}
	if err != nil {
		return StoreReport{}, fmt.Errorf("%w: cannot read the %s chain's head: %w", ErrCorruptStore, kind, err)
	}
	first := g.InitialHeight
	if len(trustedHash) != 0 {
		trusted, err := st.Get(ctx, trustedHash)
		if err != nil {
			return StoreReport{}, fmt.Errorf("%w: trusted %s %s: %w", ErrCorruptStore, kind, trustedHash, err)
		}
		first = trusted.Height()
	}
	if err := ofGenesis(g, head); err != nil {
		return StoreReport{}, fmt.Errorf("%w: %s %d (head): %w", ErrCorruptStore, kind, head.Height(), err)
	}

	rep := StoreReport{Head: head.Height()}
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

	// Walk down by hash links while they can be read; past a height that
	// cannot be, go on by the height index. lowest is the lowest header read,
	// rep.From the lowest height reached.
	above, lowest := head, head
	rep.From = head.Height()
	for height := head.Height() - 1; height >= first; height-- {
		if err := ctx.Err(); err != nil {
			return StoreReport{}, err
		}
		var (
			cur H
			err error
		)
		if !above.IsZero() {
			cur, err = st.Get(ctx, above.LastHeader())
		} else {
			cur, err = st.GetByHeight(ctx, height)
		}
		if errors.Is(err, header.ErrNotFound) {
			indexed, hasErr := ds.Has(ctx, heightIndexKey(kind, height))
			if hasErr == nil && !indexed {
				break // nothing is stored below: the chain begins at rep.From
			}
			switch {
			case hasErr != nil:
				// Whether the chain goes on below cannot be told: the
				// height counts as unreadable, below.
				err = fmt.Errorf("%w; reading its height index: %w", err, hasErr)
			case above.IsZero():
				return StoreReport{}, fmt.Errorf("%w: %s %d: the height index names a %s that is not stored: %w", ErrCorruptStore, kind, height, kind, err)
			default:
				return StoreReport{}, fmt.Errorf("%w: %s %d: its predecessor %s is not stored: %w", ErrCorruptStore, kind, above.Height(), hex.EncodeToString(above.LastHeader()), err)
			}
		}
		rep.From = height
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
		if err := checkFirst(g, trustedHash, lowest); err != nil {
			return rep, fmt.Errorf("%w: the %s chain begins at %d: %w", ErrCorruptStore, kind, lowest.Height(), err)
		}
	}
	if len(rep.Unreadable) != 0 {
		slices.Sort(rep.Unreadable)
		return rep, fmt.Errorf("%w: cannot read %s %s: %w", ErrCorruptStore, plural(kind, len(rep.Unreadable)), listHeights(rep.Unreadable), readErr)
	}
	return rep, nil
}

// heightIndexKey is where go-header's store indexes height (its
// store/keys.go), under the kind's prefix.
func heightIndexKey(kind Kind, height uint64) datastore.Key {
	return datastore.NewKey(kind.StorePrefix()).ChildString(strconv.FormatUint(height, 10))
}

// errIndexRead: the height index entry of a header could not be read.
var errIndexRead = errors.New("cannot read the height index")

// checkIndexed reports whether the store's height index names h.
func checkIndexed[H Header[H]](ctx context.Context, st *hstore.Store[H], h H) error {
	indexed, err := st.GetByHeight(ctx, h.Height())
	if err != nil {
		return fmt.Errorf("%w at %d: %w", errIndexRead, h.Height(), err)
	}
	if !bytes.Equal(indexed.Hash(), h.Hash()) {
		return fmt.Errorf("height index at %d does not name %s", h.Height(), hex.EncodeToString(h.Hash()))
	}
	return nil
}

// StoredHeight returns the height of the chain a service of kind keeps in ds
// (0 if empty), read before any service opens it: a sequencer compares it
// with what it signed to decide whether to recover from its peers.
func StoredHeight[H Header[H]](ctx context.Context, ds datastore.Batching, kind Kind) (uint64, error) {
	st, closeStore, err := openReadOnly[H](ctx, ds, kind)
	if err != nil {
		return 0, err
	}
	defer closeStore()
	head, err := st.Head(ctx)
	switch {
	case errors.Is(err, header.ErrNoHead):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("read stored %s head: %w", kind, err)
	}
	return head.Height(), nil
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
func CheckStoredEnds[H Header[H]](ctx context.Context, ds datastore.Batching, kind Kind, g *types.Genesis, configuredTrust header.Hash) error {
	trusted, err := TrustedBase(ctx, ds, kind, configuredTrust)
	if err != nil {
		return err
	}
	st, closeStore, err := openReadOnly[H](ctx, ds, kind)
	if err != nil {
		return err
	}
	defer closeStore()

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
	case head.Height() >= g.InitialHeight: // go-header's GetByHeight waits for a height above the head
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

// openReadOnly opens the kind's store in ds for reading, outside any
// service, and returns it with the func that closes it. Nothing is written
// through it, so closing has nothing to flush.
func openReadOnly[H Header[H]](ctx context.Context, ds datastore.Batching, kind Kind) (*hstore.Store[H], func(), error) {
	st, err := hstore.NewStore[H](ds, hstore.WithStorePrefix(kind.StorePrefix()))
	if err != nil {
		return nil, nil, fmt.Errorf("open %s store: %w", kind, err)
	}
	if err := st.Start(ctx); err != nil {
		return nil, nil, fmt.Errorf("open %s store: %w", kind, err)
	}
	return st, func() { _ = st.Stop(context.WithoutCancel(ctx)) }, nil
}
