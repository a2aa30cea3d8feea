package types

import "errors"

// Errors returned by Validate. Each names one rule; callers test them with
// errors.Is.
var (
	ErrInvalidHeight     = errors.New("height must be at least 1")
	ErrInvalidChainID    = errors.New("invalid chain ID")
	ErrInvalidTime       = errors.New("time must be after the Unix epoch")
	ErrMissingProposer   = errors.New("missing proposer address")
	ErrInvalidProposer   = errors.New("proposer address has the wrong length")
	ErrInvalidHashLength = errors.New("hash field has the wrong length")
	ErrMissingSigner     = errors.New("missing signer public key")
	ErrInvalidSigner     = errors.New("signer public key has the wrong length")
	ErrMissingSignature  = errors.New("missing signature")
	ErrInvalidSignature  = errors.New("signature does not verify")
	ErrProposerMismatch  = errors.New("signer does not match the proposer address")
	ErrDataHashMismatch  = errors.New("data hash does not match the block's data")
	ErrMissingHeader     = errors.New("missing header")
)

// Errors returned (inside a *header.VerifyError) by Verify.
var (
	ErrChainIDMismatch        = errors.New("chain ID differs from the trusted header's")
	ErrWrongProposer          = errors.New("proposer differs from the trusted header's")
	ErrLastHeaderHashMismatch = errors.New("last header hash does not link to the trusted header")
	ErrLastCommitHashMismatch = errors.New("last commit hash does not match the trusted header's signature")
)

// Errors returned by ValidateChain and ValidateBlocks, besides Validate's
// and the link errors above.
var (
	ErrNotConsecutive = errors.New("headers are not of consecutive heights")
	ErrSignerMismatch = errors.New("signer differs from the highest header's")
)

// Errors returned by UnmarshalBinary.
var (
	ErrTooLarge = errors.New("encoding exceeds the size limit")
	ErrDecode   = errors.New("malformed encoding")
)
