package rollkit

import (
	"bytes"
	"fmt"
	"time"

	"github.com/celestiaorg/go-header"

	"github.com/headersync/headersync/types"
)

// Header h+1 carries LastHeaderHash = hash of h and LastCommitHash = the
// hash of a commit of h's signature, and its own hash covers both (and its
// ValidatorHash, which binds the validator set, hence the signer). Once the
// highest header of a consecutive run is validated, signature included,
// every header below it is exactly what the key committed to. This is the
// native format's linked verification (types.ValidateChain), with rollkit's
// hashes.

// ValidateChain validates chain, headers of consecutive heights in
// ascending order, with one signature check: every header passes
// Validate's checks other than the signature, all carry the same signer,
// the highest header's signature verifies, and each header below is the
// one the header above links to. On success every header is remembered as
// valid; on failure none is. It says nothing of how chain[0] relates to what
// precedes it: Verify that against a trusted header.
func ValidateChain(chain []*SignedHeader) error {
	if len(chain) == 0 {
		return nil
	}
	top := chain[len(chain)-1]
	for _, sh := range chain {
		if err := sameSigner(sh, top, "highest header"); err != nil {
			return err
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

// sameSigner checks sh's fields and that it names ref's signer.
func sameSigner(sh, ref *SignedHeader, refName string) error {
	if sh.IsZero() {
		return types.ErrMissingHeader
	}
	if err := sh.validateFields(); err != nil {
		return err
	}
	if !bytes.Equal(sh.signer, ref.signer) {
		return fmt.Errorf("header %d: %w: signer %x, %s %d signed by %x",
			sh.hdr.Height, types.ErrSignerMismatch, []byte(sh.signer), refName, ref.hdr.Height, []byte(ref.signer))
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
	if err := ValidateChain(shs); err != nil {
		return fmt.Errorf("blocks %d to %d: %w", shs[0].hdr.Height, shs[len(shs)-1].hdr.Height, err)
	}
	for _, b := range chain {
		b.valid.Store(true)
	}
	return nil
}

func headersWithData(chain []*Block) ([]*SignedHeader, error) {
	shs := make([]*SignedHeader, len(chain))
	for i, b := range chain {
		if b.IsZero() {
			return nil, types.ErrMissingHeader
		}
		if err := b.validateData(); err != nil {
			return nil, err
		}
		shs[i] = b.sh
	}
	return shs, nil
}

// LinkBelow validates chain, headers of consecutive heights in ascending
// order that end right below above, a header already trusted: every
// header passes Validate's checks other than the signature, carries
// above's signer, is not later than the header above it, and is the header
// the one above links to. No signature is checked. On success every header
// is remembered as valid; on failure none is. It is how a window is filled
// backwards from a trusted head.
func LinkBelow(chain []*SignedHeader, above *SignedHeader) error {
	if above.IsZero() {
		return types.ErrMissingHeader
	}
	if err := above.Validate(); err != nil {
		return fmt.Errorf("the header above: %w", err)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		sh := chain[i]
		if err := sameSigner(sh, above, "header above"); err != nil {
			return err
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
		return types.ErrMissingHeader
	}
	if err := above.Validate(); err != nil {
		return fmt.Errorf("the block above: %w", err)
	}
	shs, err := headersWithData(chain)
	if err != nil {
		return err
	}
	if err := LinkBelow(shs, above.sh); err != nil {
		return fmt.Errorf("blocks below %d: %w", above.sh.hdr.Height, err)
	}
	for _, b := range chain {
		b.valid.Store(true)
	}
	return nil
}
