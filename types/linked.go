package types

import (
	"bytes"
	"fmt"
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
	shs := make([]*SignedHeader, len(chain))
	for i, b := range chain {
		if b.IsZero() {
			return ErrMissingHeader
		}
		if err := b.validateData(); err != nil {
			return err
		}
		shs[i] = b.sh
	}
	if err := ValidateChain(shs); err != nil {
		return fmt.Errorf("blocks %d to %d: %w", shs[0].hdr.Height, shs[len(shs)-1].hdr.Height, err)
	}
	for _, b := range chain {
		b.valid.Store(true)
	}
	return nil
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
