package rollkit

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/celestiaorg/go-header"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/headersync/headersync/types"
)

// MaxSignedHeaderSize bounds the encoding UnmarshalBinary accepts. A valid
// rollkit signed header, with its one-validator set, is under 700 bytes.
const MaxSignedHeaderSize = 4 << 10

// MaxChainIDLen is CometBFT's limit on a chain ID, in bytes.
const MaxChainIDLen = cmtypes.MaxChainIDLen

// Errors of this format's Validate, besides those of package types.
var (
	// ErrValidatorSet: the header's validator set is not exactly one
	// ed25519 validator, the proposer, at the proposer address.
	ErrValidatorSet = errors.New("validator set is not the single ed25519 validator that proposed the header")
	// ErrValidatorHashMismatch: ValidatorHash is not the hash of the
	// header's validator set.
	ErrValidatorHashMismatch = errors.New("validator hash is not the hash of the validator set")
)

// SignedHeader is rollkit v0.13's SignedHeader: a header, the sequencer's
// signature of it and the validator set (one validator, the sequencer). It
// is immutable: build it with Sign or UnmarshalBinary.
type SignedHeader struct {
	hdr        types.Header
	signature  []byte
	validators *cmtypes.ValidatorSet // nil when the message has none with a proposer

	built   bool
	hash    header.Hash       // CometBFT hash of hdr; nil without a ValidatorHash
	signer  ed25519.PublicKey // the one validator's key when it is ed25519, else nil
	valHash header.Hash       // hash of validators
	enc     []byte            // encoding of the whole value
	valid   atomic.Bool       // Validate (or a chain check) has succeeded
}

var _ header.Header[*SignedHeader] = (*SignedHeader)(nil)

// newSignedHeader builds a SignedHeader from parts it takes ownership of.
func newSignedHeader(h types.Header, signature []byte, validators *cmtypes.ValidatorSet) (*SignedHeader, error) {
	sh := &SignedHeader{hdr: h, signature: signature, validators: validators}
	if err := sh.seal(); err != nil {
		return nil, err
	}
	return sh, nil
}

// seal computes what the immutable value caches.
func (sh *SignedHeader) seal() error {
	sh.built = true
	sh.hash = headerHash(&sh.hdr)
	sh.signer, sh.valHash = nil, nil
	var vals []byte
	if sh.validators != nil {
		sh.valHash = header.Hash(sh.validators.Hash())
		if len(sh.validators.Validators) == 1 {
			if pk, ok := sh.validators.Validators[0].PubKey.(cmted25519.PubKey); ok {
				sh.signer = ed25519.PublicKey(pk)
			}
		}
	}
	// rollkit always sends the validator set field, empty when it has none.
	vp, err := sh.validators.ToProto()
	if err != nil {
		return fmt.Errorf("signed header: encode validator set: %w", err)
	}
	if vals, err = vp.Marshal(); err != nil {
		return fmt.Errorf("signed header: encode validator set: %w", err)
	}
	b := make([]byte, 0, 256+len(vals))
	b = protowire.AppendTag(b, fSignedHeaderHeader, protowire.BytesType)
	b = protowire.AppendBytes(b, appendHeader(nil, &sh.hdr))
	b = appendBytes(b, fSignedHeaderSignature, sh.signature)
	b = protowire.AppendTag(b, fSignedHeaderValidators, protowire.BytesType)
	sh.enc = protowire.AppendBytes(b, vals)
	return nil
}

// New returns an empty SignedHeader for UnmarshalBinary (go-header's factory).
func (sh *SignedHeader) New() *SignedHeader { return new(SignedHeader) }

// IsZero reports whether sh is nil or was never built.
func (sh *SignedHeader) IsZero() bool { return sh == nil || !sh.built }

// Header returns a copy of the unsigned header's fields.
func (sh *SignedHeader) Header() types.Header {
	h := sh.hdr
	for _, f := range []*header.Hash{&h.LastHeaderHash, &h.LastCommitHash, &h.DataHash, &h.ConsensusHash, &h.AppHash, &h.LastResultsHash, &h.ValidatorHash} {
		*f = clone(*f)
	}
	h.ProposerAddress = clone(h.ProposerAddress)
	return h
}

// Hash returns the CometBFT header hash (nil if the header has no
// ValidatorHash, which Validate refuses).
func (sh *SignedHeader) Hash() header.Hash { return sh.hash }

// Height returns the block height.
func (sh *SignedHeader) Height() uint64 { return sh.hdr.Height }

// ChainID returns the chain the header belongs to.
func (sh *SignedHeader) ChainID() string { return sh.hdr.ChainID }

// LastHeader returns the hash of the previous header.
func (sh *SignedHeader) LastHeader() header.Hash { return sh.hdr.LastHeaderHash }

// Time returns the block time (UTC).
func (sh *SignedHeader) Time() time.Time { return sh.hdr.Time }

// ProposerAddress returns the address of the sequencer that proposed the
// block.
func (sh *SignedHeader) ProposerAddress() []byte { return sh.hdr.ProposerAddress }

// Signature returns the sequencer's signature of the vote sign-bytes.
func (sh *SignedHeader) Signature() []byte { return sh.signature }

// Signer returns the ed25519 key of the header's one validator; nil if the
// set is not one ed25519 validator.
func (sh *SignedHeader) Signer() ed25519.PublicKey { return sh.signer }

// Validators returns the header's validator set (nil if it has none). It
// must not be modified.
func (sh *SignedHeader) Validators() *cmtypes.ValidatorSet { return sh.validators }

// VoteSignBytes returns what the sequencer signs for sh.
func (sh *SignedHeader) VoteSignBytes() []byte { return voteSignBytes(&sh.hdr, sh.hash) }

// Validate performs the stateless checks: well-formed fields, one ed25519
// validator that is the proposer, ValidatorHash its set's hash, and the
// signature over the vote sign-bytes. A success is remembered.
func (sh *SignedHeader) Validate() error {
	if sh.IsZero() {
		return types.ErrMissingHeader
	}
	if sh.valid.Load() {
		return nil
	}
	if err := sh.validateFields(); err != nil {
		return err
	}
	if !types.VerifyEd25519(sh.signer, sh.VoteSignBytes(), sh.signature) {
		return fmt.Errorf("header %d: %w", sh.hdr.Height, types.ErrInvalidSignature)
	}
	sh.valid.Store(true)
	return nil
}

// validateFields runs every check of Validate but the signature's.
func (sh *SignedHeader) validateFields() error {
	if err := sh.validateHeader(); err != nil {
		return fmt.Errorf("header %d: %w", sh.hdr.Height, err)
	}
	return nil
}

func (sh *SignedHeader) validateHeader() error {
	h := &sh.hdr
	switch {
	case h.Height == 0:
		return types.ErrInvalidHeight
	case h.ChainID == "" || len(h.ChainID) > MaxChainIDLen || !utf8.ValidString(h.ChainID):
		return fmt.Errorf("%w: %q; expected 1 to %d bytes of UTF-8", types.ErrInvalidChainID, h.ChainID, MaxChainIDLen)
	case unixNano(h.Time) == 0:
		return fmt.Errorf("%w: %d ns", types.ErrInvalidTime, unixNano(h.Time))
	case len(h.ProposerAddress) == 0:
		return types.ErrMissingProposer
	case len(h.ProposerAddress) != AddressSize:
		return fmt.Errorf("%w: %d bytes, want %d", types.ErrInvalidProposer, len(h.ProposerAddress), AddressSize)
	}
	for _, f := range []struct {
		name     string
		hash     header.Hash
		optional bool
		max      int
	}{
		{"last_header_hash", h.LastHeaderHash, true, HashSize},
		{"last_commit_hash", h.LastCommitHash, true, HashSize},
		{"data_hash", h.DataHash, false, HashSize},
		{"validator_hash", h.ValidatorHash, false, HashSize},
		{"consensus_hash", h.ConsensusHash, true, MaxAppHashSize},
		{"app_hash", h.AppHash, true, MaxAppHashSize},
		{"last_results_hash", h.LastResultsHash, true, MaxAppHashSize},
	} {
		n := len(f.hash)
		switch {
		case n == 0 && f.optional:
		case f.max == HashSize && n != HashSize:
			return fmt.Errorf("%w: %s has %d bytes, want %d", types.ErrInvalidHashLength, f.name, n, HashSize)
		case n > f.max:
			return fmt.Errorf("%w: %s has %d bytes, at most %d", types.ErrInvalidHashLength, f.name, n, f.max)
		}
	}
	vs := sh.validators
	if vs == nil || len(vs.Validators) != 1 || vs.Proposer == nil || sh.signer == nil {
		return fmt.Errorf("%w: %s", ErrValidatorSet, describe(vs))
	}
	val := vs.Validators[0]
	if !bytes.Equal(val.Address, h.ProposerAddress) || !bytes.Equal(vs.Proposer.Address, h.ProposerAddress) ||
		!val.PubKey.Equals(vs.Proposer.PubKey) || !bytes.Equal(val.PubKey.Address(), val.Address) {
		return fmt.Errorf("%w: validator %X, proposer %X, header proposer %X", ErrValidatorSet,
			[]byte(val.Address), []byte(vs.Proposer.Address), h.ProposerAddress)
	}
	if !bytes.Equal(sh.valHash, h.ValidatorHash) {
		return fmt.Errorf("%w: header has %X, the set hashes to %X", ErrValidatorHashMismatch, []byte(h.ValidatorHash), []byte(sh.valHash))
	}
	switch len(sh.signature) {
	case 0:
		return types.ErrMissingSignature
	case ed25519.SignatureSize:
	default:
		return fmt.Errorf("%w: %d bytes, want %d", types.ErrInvalidSignature, len(sh.signature), ed25519.SignatureSize)
	}
	return nil
}

// describe names what is wrong with a validator set that is not one
// ed25519 validator.
func describe(vs *cmtypes.ValidatorSet) string {
	switch {
	case vs == nil:
		return "none"
	case len(vs.Validators) != 1:
		return fmt.Sprintf("%d validators", len(vs.Validators))
	case vs.Proposer == nil:
		return "no proposer"
	default:
		return fmt.Sprintf("a %s key", vs.Validators[0].PubKey.Type())
	}
}

// Verify checks untrusted against sh, a header already trusted, with
// rollkit's rules (same proposer; when adjacent, LastHeaderHash and
// LastCommitHash link to sh) and those rollkit leaves out: untrusted is
// valid (its signature checked), of the same chain, higher, not older than
// sh nor more than types.MaxClockDrift ahead of the local clock. Failures
// are *header.VerifyError, as go-header expects.
func (sh *SignedHeader) Verify(untrusted *SignedHeader) error {
	if err := sh.verify(untrusted); err != nil {
		return &header.VerifyError{Reason: err}
	}
	return nil
}

func (sh *SignedHeader) verify(untrusted *SignedHeader) error {
	if sh.IsZero() || untrusted.IsZero() {
		return header.ErrZeroHeader
	}
	if err := untrusted.Validate(); err != nil {
		return err
	}
	if err := types.CheckSuccessor(sh, untrusted); err != nil {
		return err
	}
	if untrusted.hdr.Height != sh.hdr.Height+1 {
		return nil
	}
	return links(sh, untrusted)
}

// links reports whether above is the header right after below and commits
// to it: its hash, and its signature through LastCommitHash.
func links(below, above *SignedHeader) error {
	if above.hdr.Height != below.hdr.Height+1 {
		return fmt.Errorf("%w: header %d follows header %d", types.ErrNotConsecutive, above.hdr.Height, below.hdr.Height)
	}
	if !bytes.Equal(above.hdr.LastHeaderHash, below.hash) {
		return fmt.Errorf("%w: header %d has %X, header %d is %X", types.ErrLastHeaderHashMismatch,
			above.hdr.Height, []byte(above.hdr.LastHeaderHash), below.hdr.Height, []byte(below.hash))
	}
	if want := commitHash(below.signature, above.hdr.Time, below.hdr.ProposerAddress); !bytes.Equal(above.hdr.LastCommitHash, want) {
		return fmt.Errorf("%w: header %d has %X, header %d's signature gives %X", types.ErrLastCommitHashMismatch,
			above.hdr.Height, []byte(above.hdr.LastCommitHash), below.hdr.Height, []byte(want))
	}
	return nil
}

// MarshalBinary returns rollkit's encoding of sh.
func (sh *SignedHeader) MarshalBinary() ([]byte, error) {
	if sh.IsZero() {
		return nil, types.ErrMissingHeader
	}
	return bytes.Clone(sh.enc), nil
}

// UnmarshalBinary replaces sh with the decoded rollkit SignedHeader. It
// rejects input over MaxSignedHeaderSize before decoding.
func (sh *SignedHeader) UnmarshalBinary(data []byte) error {
	if len(data) > MaxSignedHeaderSize {
		return fmt.Errorf("signed header: %w: %d bytes, limit %d", types.ErrTooLarge, len(data), MaxSignedHeaderSize)
	}
	dec, err := decodeSignedHeader(data)
	if err != nil {
		return err
	}
	sh.hdr, sh.signature, sh.validators = dec.hdr, dec.signature, dec.validators
	sh.valid.Store(false)
	return sh.seal()
}

func decodeSignedHeader(data []byte) (*SignedHeader, error) {
	var (
		sh        SignedHeader
		hasHeader bool
	)
	err := eachField(data, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
		switch num {
		case fSignedHeaderHeader:
			h, err := decodeHeader(v)
			if err != nil {
				return err
			}
			sh.hdr, hasHeader = h, true
		case fSignedHeaderSignature:
			sh.signature = clone(v)
		case fSignedHeaderValidators:
			var vp cmtproto.ValidatorSet
			if err := vp.Unmarshal(v); err != nil {
				return fmt.Errorf("%w: validator set: %w", types.ErrDecode, err)
			}
			// As rollkit does: a set without a proposer is no set.
			if vp.GetProposer() == nil {
				return nil
			}
			vs, err := cmtypes.ValidatorSetFromProto(&vp)
			if err != nil {
				return fmt.Errorf("%w: validator set: %w", types.ErrDecode, err)
			}
			sh.validators = vs
		}
		return nil
	}, signedHeaderFields)
	if err != nil {
		return nil, fmt.Errorf("signed header: %w", err)
	}
	if !hasHeader {
		return nil, fmt.Errorf("signed header: %w", types.ErrMissingHeader)
	}
	return &sh, nil
}
