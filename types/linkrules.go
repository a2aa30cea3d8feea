package types

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/celestiaorg/go-header"
)

// LinkedHeader is what linked verification reads of a signed header, in
// any format.
type LinkedHeader interface {
	IsZero() bool
	Height() uint64
	Time() time.Time
	Signer() ed25519.PublicKey
	Validate() error
}

// LinkRules are a header format's part of linked verification (see
// ValidateChain): the algorithm is the same for every format, the checks
// are the format's. A format keeps its memoised validity private and hands
// MarkValid to its own rules only, so that nothing but these checks can
// mark a header valid without its signature.
type LinkRules[H LinkedHeader] struct {
	// Fields runs every check of Validate but the signature's.
	Fields func(H) error
	// Links reports whether above is the header right after below and
	// commits to it: its hash, and its signature.
	Links func(below, above H) error
	// MarkValid remembers h as valid, as a successful Validate does.
	MarkValid func(H)
}

// ValidateChain validates chain, headers of consecutive heights in
// ascending order, with one signature check: every header passes the
// field checks, all carry the same signer (which no hash covers), the
// highest header validates, signature included, and each header below is
// the one the header above links to. On success every header is remembered
// as valid; on failure none below the top is. It says nothing of how
// chain[0] relates to what precedes it.
func (r LinkRules[H]) ValidateChain(chain []H) error {
	if len(chain) == 0 {
		return nil
	}
	top := chain[len(chain)-1]
	for _, h := range chain {
		if err := r.sameSigner(h, top, "highest header"); err != nil {
			return err
		}
	}
	if err := top.Validate(); err != nil {
		return err
	}
	for i := len(chain) - 1; i > 0; i-- {
		if err := r.Links(chain[i-1], chain[i]); err != nil {
			return err
		}
	}
	for _, h := range chain {
		r.MarkValid(h)
	}
	return nil
}

// LinkBelow validates chain, headers of consecutive heights in ascending
// order that end right below above, a header already trusted (validated,
// or itself linked to one that was): every header passes the field checks,
// carries above's signer, is not later than the header above it, and is
// the header the one above links to. No signature below above is checked.
// On success every header is remembered as valid; on failure none is.
func (r LinkRules[H]) LinkBelow(chain []H, above H) error {
	if above.IsZero() {
		return ErrMissingHeader
	}
	if err := above.Validate(); err != nil { // free when remembered
		return fmt.Errorf("the header above: %w", err)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		h := chain[i]
		if err := r.sameSigner(h, above, "header above"); err != nil {
			return err
		}
		if h.Time().After(above.Time()) {
			return fmt.Errorf("%w: header %d at %s is later than header %d above it at %s", header.ErrUnorderedTime,
				h.Height(), h.Time().Format(time.RFC3339Nano), above.Height(), above.Time().Format(time.RFC3339Nano))
		}
		if err := r.Links(h, above); err != nil {
			return err
		}
		above = h
	}
	for _, h := range chain {
		r.MarkValid(h)
	}
	return nil
}

// sameSigner runs h's field checks and requires ref's signer.
func (r LinkRules[H]) sameSigner(h, ref H, refName string) error {
	if h.IsZero() {
		return ErrMissingHeader
	}
	if err := r.Fields(h); err != nil {
		return err
	}
	if !bytes.Equal(h.Signer(), ref.Signer()) {
		return fmt.Errorf("header %d: %w: signer %x, %s %d signed by %x",
			h.Height(), ErrSignerMismatch, []byte(h.Signer()), refName, ref.Height(), []byte(ref.Signer()))
	}
	return nil
}

// BlockLinkRules are linked verification for blocks of header type H: a
// block's data must match its header's DataHash, then the headers are
// checked by Headers.
type BlockLinkRules[B LinkedHeader, H LinkedHeader] struct {
	Headers LinkRules[H]
	// Header returns b's signed header once b's data matches its
	// DataHash.
	Header func(b B) (H, error)
	// MarkValid remembers b as valid.
	MarkValid func(B)
}

// ValidateChain is LinkRules.ValidateChain for blocks.
func (r BlockLinkRules[B, H]) ValidateChain(chain []B) error {
	if len(chain) == 0 {
		return nil
	}
	hs, err := r.headers(chain)
	if err != nil {
		return err
	}
	if err := r.Headers.ValidateChain(hs); err != nil {
		return fmt.Errorf("blocks %d to %d: %w", chain[0].Height(), chain[len(chain)-1].Height(), err)
	}
	for _, b := range chain {
		r.MarkValid(b)
	}
	return nil
}

// LinkBelow is LinkRules.LinkBelow for blocks.
func (r BlockLinkRules[B, H]) LinkBelow(chain []B, above B) error {
	if above.IsZero() {
		return ErrMissingHeader
	}
	if err := above.Validate(); err != nil {
		return fmt.Errorf("the block above: %w", err)
	}
	top, err := r.Header(above)
	if err != nil {
		return err
	}
	hs, err := r.headers(chain)
	if err != nil {
		return err
	}
	if err := r.Headers.LinkBelow(hs, top); err != nil {
		return fmt.Errorf("blocks below %d: %w", above.Height(), err)
	}
	for _, b := range chain {
		r.MarkValid(b)
	}
	return nil
}

// headers returns the headers of chain, each block's data checked.
func (r BlockLinkRules[B, H]) headers(chain []B) ([]H, error) {
	hs := make([]H, len(chain))
	for i, b := range chain {
		if b.IsZero() {
			return nil, ErrMissingHeader
		}
		h, err := r.Header(b)
		if err != nil {
			return nil, err
		}
		hs[i] = h
	}
	return hs, nil
}
