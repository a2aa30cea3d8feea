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

// linkRules are the native format's part of linked verification.
var linkRules = LinkRules[*SignedHeader]{
	Fields:    (*SignedHeader).validateFields,
	Links:     links,
	MarkValid: func(sh *SignedHeader) { sh.valid.Store(true) },
}

// blockLinkRules are linkRules for blocks.
var blockLinkRules = BlockLinkRules[*Block, *SignedHeader]{
	Headers: linkRules,
	Header: func(b *Block) (*SignedHeader, error) {
		if err := b.validateData(); err != nil {
			return nil, err
		}
		return b.sh, nil
	},
	MarkValid: func(b *Block) { b.valid.Store(true) },
}

// ValidateChain validates chain, headers of consecutive heights in
// ascending order, with one signature check: every header passes Validate's
// checks other than the signature, all carry the same signer, the highest
// header's signature verifies, and each header below is the one the header
// above it links to by LastHeaderHash and LastCommitHash. On success every
// header is remembered as valid, as Validate would remember it; on failure
// none below the highest is. It says nothing of how chain[0] relates to what
// precedes it: Verify that against a trusted header.
func ValidateChain(chain []*SignedHeader) error { return linkRules.ValidateChain(chain) }

// ValidateBlocks is ValidateChain for blocks: each block's data must also
// match its header's DataHash.
func ValidateBlocks(chain []*Block) error { return blockLinkRules.ValidateChain(chain) }

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
	return linkRules.LinkBelow(chain, above)
}

// LinkBlocksBelow is LinkBelow for blocks: each block's data must also
// match its header's DataHash.
func LinkBlocksBelow(chain []*Block, above *Block) error {
	return blockLinkRules.LinkBelow(chain, above)
}
