package rollkit

import (
	"github.com/headersync/headersync/types"
)

// Header h+1 carries LastHeaderHash = hash of h and LastCommitHash = the
// hash of a commit of h's signature, and its own hash covers both (and its
// ValidatorHash, which binds the validator set, hence the signer). Once the
// highest header of a consecutive run is validated, signature included,
// every header below it is exactly what the key committed to. This is the
// native format's linked verification (types.LinkRules), with rollkit's
// hashes.

// linkRules are this format's part of linked verification.
var linkRules = types.LinkRules[*SignedHeader]{
	Fields:    (*SignedHeader).validateFields,
	Links:     links,
	MarkValid: func(sh *SignedHeader) { sh.valid.Store(true) },
}

// blockLinkRules are linkRules for blocks.
var blockLinkRules = types.BlockLinkRules[*Block, *SignedHeader]{
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
// ascending order, with one signature check: every header passes
// Validate's checks other than the signature, all carry the same signer,
// the highest header's signature verifies, and each header below is the
// one the header above links to. On success every header is remembered as
// valid; on failure none below the highest is. It says nothing of how
// chain[0] relates to what precedes it: Verify that against a trusted
// header.
func ValidateChain(chain []*SignedHeader) error { return linkRules.ValidateChain(chain) }

// ValidateBlocks is ValidateChain for blocks: each block's data must also
// match its header's DataHash.
func ValidateBlocks(chain []*Block) error { return blockLinkRules.ValidateChain(chain) }

// LinkBelow validates chain, headers of consecutive heights in ascending
// order that end right below above, a header already trusted: every
// header passes Validate's checks other than the signature, carries
// above's signer, is not later than the header above it, and is the header
// the one above links to. No signature is checked. On success every header
// is remembered as valid; on failure none is. It is how a window is filled
// backwards from a trusted head.
func LinkBelow(chain []*SignedHeader, above *SignedHeader) error {
	return linkRules.LinkBelow(chain, above)
}

// LinkBlocksBelow is LinkBelow for blocks: each block's data must also
// match its header's DataHash.
func LinkBlocksBelow(chain []*Block, above *Block) error {
	return blockLinkRules.LinkBelow(chain, above)
}
