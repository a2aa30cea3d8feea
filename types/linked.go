package types

import (
	"bytes"
	"fmt"
	"time"

	"github.com/celestiaorg/go-header"
)

// Header h+1 carries LastHeaderHash = hash of h and LastCommitHash = hash of
// h's signature, and the sequencer's signature on h+1 covers both. Once the
// signature of the highest header of a consecutive run verifies, every
// header below it is, signature included, exactly what the key committed to:
// a forged header or signature would need a SHA-256 collision. So a run of k
// headers costs one ed25519 check and k hashes instead of k checks.
//
// The one difference from checking each signature: if the sequencer itself
// signed a successor of a header whose signature does not verify, that
// header passes here and fails Validate. See SECURITY.md.

// ValidateChain validates chain, headers of consecutive heights in
// ascending order, with one signature check: every header passes Validate's
// checks other than the signature, all carry the same signer, the highest
// header's signature verifies, and each header below is the one the header
// above it links to by LastHeaderHash and LastCommitHash. On success every
// header is remembered as valid, as Validate would remember it; on failure
// none is. It says nothing of how chain[0] relates to what precedes it:
// Verify that against a trusted header.
func ValidateChain(chain []*SignedHeader) error {
	if len(chain) == 0 {
		return nil
	}
	top := chain[len(chain)-1]
	for _, sh := range chain {
		if sh.IsZero() {
			return ErrMissingHeader
		}
		if err := sh.validateFields(); err != nil {
			return err
		}
		if !bytes.Equal(sh.signer, top.signer) {
			// The signer is in neither hash: the links vouch for it only
			// if it is the key that signed the top.
			return fmt.Errorf("header %d: %w: signer %x, highest header %d signed by %x",
				sh.hdr.Height, ErrSignerMismatch, []byte(sh.signer), top.hdr.Height, []byte(top.signer))
		}
	}
	if err := top.Validate(); err != nil {
		return err
	}
	for i := len(chain) - 1; i > 0; i-- {
		if err := links(chain[i-1], chain[i]); err != nil {
			return err
		}
	}
	for _, sh := range chain {
		sh.valid.Store(true)
	}
	return nil
}

// ValidateBlocks is ValidateChain for blocks: each block's data must also
// match its header's DataHash.
func ValidateBlocks(chain []*Block) error {
	if len(chain) == 0 {
		return nil
	}
	shs, err := headersWithData(chain)
	if err != nil {
		return err
	}
	if err = ValidateChain(shs); err != nil {
		return fmt.Errorf("blocks %d to %d: %w", shs[0].hdr.Height, shs[len(shs)-1].hdr.Height, err)
	}
	for _, b := range chain {
		b.valid.Store(true)
	}
	return nil
}

// headersWithData returns the headers of chain, each block's data checked
// against its header's DataHash.
func headersWithData(chain []*Block) ([]*SignedHeader, error) {
	shs := make([]*SignedHeader, len(chain))
	for i, b := range chain {
		if b.IsZero() {
			return nil, ErrMissingHeader
		}
		if err := b.validateData(); err != nil {
			return nil, err
		}
		shs[i] = b.sh
	}
	return shs, nil
}

// links reports whether above is the header right after below and commits
// to it: its hash and its signature.
func links(below, above *SignedHeader) error {
	if above.hdr.Height != below.hdr.Height+1 {
		return fmt.Errorf("%w: header %d follows header %d", ErrNotConsecutive, above.hdr.Height, below.hdr.Height)
	}
	if !bytes.Equal(above.hdr.LastHeaderHash, below.hash) {
		return fmt.Errorf("%w: header %d has %x, header %d is %x", ErrLastHeaderHashMismatch,
			above.hdr.Height, []byte(above.hdr.LastHeaderHash), below.hdr.Height, []byte(below.hash))
	}
	if want := below.CommitHash(); !bytes.Equal(above.hdr.LastCommitHash, want) {
		return fmt.Errorf("%w: header %d has %x, header %d's signature hashes to %x", ErrLastCommitHashMismatch,
			above.hdr.Height, []byte(above.hdr.LastCommitHash), below.hdr.Height, []byte(want))
	}
	return nil
}

// LinkBelow validates chain, headers of consecutive heights in ascending
// order that end right below above, a header already trusted (its
// signature checked, or itself linked to one that was): every header passes
// Validate's checks other than the signature, carries above's signer, is
// not later than the header above it, and is the header the one above it
// links to by LastHeaderHash and LastCommitHash. No signature is checked:
// above commits to chain's top, which commits to the header below it, and
// so on down. On success every header is remembered as valid; on failure
// none is. It is how a window is filled backwards from a trusted head.
func LinkBelow(chain []*SignedHeader, above *SignedHeader) error {
	if above.IsZero() {
		return ErrMissingHeader
	}
	if !above.valid.Load() {
		if err := above.Validate(); err != nil {
			return fmt.Errorf("the header above: %w", err)
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		sh := chain[i]
		if sh.IsZero() {
			return ErrMissingHeader
		}
		if err := sh.validateFields(); err != nil {
			return err
		}
		if !bytes.Equal(sh.signer, above.signer) {
			return fmt.Errorf("header %d: %w: signer %x, header %d above signed by %x",
				sh.hdr.Height, ErrSignerMismatch, []byte(sh.signer), above.hdr.Height, []byte(above.signer))
		}
		if sh.hdr.Time.After(above.hdr.Time) {
			return fmt.Errorf("%w: header %d at %s is later than header %d above it at %s", header.ErrUnorderedTime,
				sh.hdr.Height, sh.hdr.Time.Format(time.RFC3339Nano), above.hdr.Height, above.hdr.Time.Format(time.RFC3339Nano))
		}
		if err := links(sh, above); err != nil {
			return err
		}
		above = sh
	}
	for _, sh := range chain {
		sh.valid.Store(true)
	}
	return nil
}

// LinkBlocksBelow is LinkBelow for blocks: each block's data must also
// match its header's DataHash.
func LinkBlocksBelow(chain []*Block, above *Block) error {
	if above.IsZero() {
		return ErrMissingHeader
	}
	if !above.valid.Load() {
		if err := above.Validate(); err != nil {
			return fmt.Errorf("the block above: %w", err)
		}
	}
	shs, err := headersWithData(chain)
	if err != nil {
		return err
	}
	if err = LinkBelow(shs, above.sh); err != nil {
		return fmt.Errorf("blocks below %d: %w", above.sh.hdr.Height, err)
	}
	for _, b := range chain {
		b.valid.Store(true)
	}
	return nil
}
