package types

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/celestiaorg/go-header"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/headersync/headersync/types/pb"
)

// MaxClockDrift is how far in the future a header's time may be, as in
// go-header's own checks: more means a faulty sequencer clock or a forgery.
const MaxClockDrift = 10 * time.Second

// MaxSignedHeaderSize bounds the encoding UnmarshalBinary accepts. A valid
// signed header is under 600 bytes; the margin leaves room for new fields.
const MaxSignedHeaderSize = 4 << 10

// SignedHeader is a Header signed by the sequencer. It is immutable: build it
// with Signer.Sign, NewSignedHeader or UnmarshalBinary.
type SignedHeader struct {
	hdr       Header
	signature []byte
	signer    ed25519.PublicKey

	hash  header.Hash // Hash of hdr, computed once at construction
	enc   []byte      // canonical encoding of the whole value, built at construction
	valid atomic.Bool // Validate has succeeded; the value cannot change, so neither can the result
}

var _ header.Header[*SignedHeader] = (*SignedHeader)(nil)

// NewSignedHeader assembles a SignedHeader from its parts without checking
// them; call Validate for that. It copies h, signature and signer.
func NewSignedHeader(h Header, signature []byte, signer ed25519.PublicKey) *SignedHeader {
	sh := &SignedHeader{
		hdr:       h.clone(),
		signature: bytes.Clone(signature),
		signer:    bytes.Clone(signer),
	}
	sh.seal()
	return sh
}

// seal computes what an immutable value caches: the header hash and the
// encoding. The store writes and the exchange server sends every header it
// reads, so encoding once per value saves a protobuf marshal each time.
func (sh *SignedHeader) seal() {
	hb := sh.hdr.encode()
	sum := sha256.Sum256(hb)
	sh.hash = sum[:]
	sh.enc = appendSignedHeader(make([]byte, 0, len(hb)+len(sh.signature)+len(sh.signer)+16), hb, sh.signature, sh.signer)
}

// appendSignedHeader appends the canonical SignedHeader message — exactly
// what protobuf's deterministic marshal of pb.SignedHeader gives (the
// golden and round-trip tests hold it to that) — from the header's encoding.
func appendSignedHeader(b, header, signature, signer []byte) []byte {
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, header)
	if len(signature) > 0 {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, signature)
	}
	if len(signer) > 0 {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, signer)
	}
	return b
}

// New returns an empty SignedHeader for UnmarshalBinary (go-header's factory).
func (sh *SignedHeader) New() *SignedHeader { return new(SignedHeader) }

// IsZero reports whether sh is nil or was never built.
func (sh *SignedHeader) IsZero() bool { return sh == nil || sh.hash == nil }

// Header returns a deep copy of the unsigned header.
func (sh *SignedHeader) Header() Header { return sh.hdr.clone() }

// Hash returns the cached header hash.
func (sh *SignedHeader) Hash() header.Hash { return sh.hash }

// Height returns the block height.
func (sh *SignedHeader) Height() uint64 { return sh.hdr.Height }

// ChainID returns the chain the header belongs to.
func (sh *SignedHeader) ChainID() string { return sh.hdr.ChainID }

// LastHeader returns the hash of the previous header.
func (sh *SignedHeader) LastHeader() header.Hash { return sh.hdr.LastHeaderHash }

// Time returns the block time (UTC).
func (sh *SignedHeader) Time() time.Time { return sh.hdr.Time }

// ProposerAddress returns the address of the sequencer that proposed the block.
func (sh *SignedHeader) ProposerAddress() []byte { return sh.hdr.ProposerAddress }

// DataHash returns the hash of the block's Data.
func (sh *SignedHeader) DataHash() header.Hash { return sh.hdr.DataHash }

// Signature returns the ed25519 signature over the header hash.
func (sh *SignedHeader) Signature() []byte { return sh.signature }

// Signer returns the public key that made the signature.
func (sh *SignedHeader) Signer() ed25519.PublicKey { return sh.signer }

// CommitHash returns the value the next header must carry as LastCommitHash.
func (sh *SignedHeader) CommitHash() header.Hash { return CommitHash(sh.signature) }

// CommitHash is SHA-256 of a header signature: what the following header
// carries as LastCommitHash.
func CommitHash(signature []byte) header.Hash {
	sum := sha256.Sum256(signature)
	return sum[:]
}

// Validate performs the stateless checks: required fields present and well
// formed, the signer's address is the proposer address, and the signature
// verifies. A success is remembered, so later calls are free.
func (sh *SignedHeader) Validate() error {
	if sh.IsZero() {
		return ErrMissingHeader
	}
	if sh.valid.Load() {
		return nil
	}
	if err := sh.validate(); err != nil {
		return err
	}
	sh.valid.Store(true)
	return nil
}

// validate runs every check, ignoring a remembered success.
func (sh *SignedHeader) validate() error {
	if err := sh.validateFields(); err != nil {
		return err
	}
	if !verifySignature(sh.signer, sh.hash, sh.signature) {
		return fmt.Errorf("header %d: %w", sh.hdr.Height, ErrInvalidSignature)
	}
	return nil
}

// validateFields runs every check of validate but the signature's.
func (sh *SignedHeader) validateFields() error {
	if err := sh.hdr.validate(); err != nil {
		return fmt.Errorf("header %d: %w", sh.hdr.Height, err)
	}
	switch len(sh.signer) {
	case 0:
		return fmt.Errorf("header %d: %w", sh.hdr.Height, ErrMissingSigner)
	case ed25519.PublicKeySize:
	default:
		return fmt.Errorf("header %d: %w: %d bytes, want %d", sh.hdr.Height, ErrInvalidSigner, len(sh.signer), ed25519.PublicKeySize)
	}
	switch len(sh.signature) {
	case 0:
		return fmt.Errorf("header %d: %w", sh.hdr.Height, ErrMissingSignature)
	case ed25519.SignatureSize:
	default:
		return fmt.Errorf("header %d: %w: %d bytes, want %d", sh.hdr.Height, ErrInvalidSignature, len(sh.signature), ed25519.SignatureSize)
	}
	if !bytes.Equal(Address(sh.signer), sh.hdr.ProposerAddress) {
		return fmt.Errorf("header %d: %w: signer %x has address %x, proposer is %x",
			sh.hdr.Height, ErrProposerMismatch, []byte(sh.signer), Address(sh.signer), sh.hdr.ProposerAddress)
	}
	return nil
}

// Verify checks untrusted against sh, a header already trusted: untrusted must
// be valid, on the same chain, higher, not older than sh nor more than
// MaxClockDrift ahead of the local clock, by the same proposer, and,
// when it directly follows sh, link to it by LastHeaderHash and
// LastCommitHash. Failures are *header.VerifyError, as go-header expects.
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
	if err := CheckSuccessor(sh, untrusted); err != nil {
		return err
	}
	if untrusted.hdr.Height != sh.hdr.Height+1 {
		return nil
	}
	if !bytes.Equal(untrusted.hdr.LastHeaderHash, sh.hash) {
		return fmt.Errorf("%w: header %d has %x, trusted %d is %x", ErrLastHeaderHashMismatch,
			untrusted.hdr.Height, []byte(untrusted.hdr.LastHeaderHash), sh.hdr.Height, []byte(sh.hash))
	}
	if want := sh.CommitHash(); !bytes.Equal(untrusted.hdr.LastCommitHash, want) {
		return fmt.Errorf("%w: header %d has %x, want %x", ErrLastCommitHashMismatch,
			untrusted.hdr.Height, []byte(untrusted.hdr.LastCommitHash), []byte(want))
	}
	return nil
}

// Successor is what CheckSuccessor reads of a signed header, in any format.
type Successor interface {
	ChainID() string
	Height() uint64
	Time() time.Time
	ProposerAddress() []byte
}

// CheckSuccessor runs the checks of Verify that do not depend on the
// header format: untrusted is of trusted's chain, higher, not more than
// MaxClockDrift ahead of the local clock, not older than trusted, and by
// the same proposer.
func CheckSuccessor(trusted, untrusted Successor) error {
	if untrusted.ChainID() != trusted.ChainID() {
		return fmt.Errorf("%w: %q, trusted %q", ErrChainIDMismatch, untrusted.ChainID(), trusted.ChainID())
	}
	if untrusted.Height() <= trusted.Height() {
		return fmt.Errorf("%w: height %d, trusted %d", header.ErrKnownHeader, untrusted.Height(), trusted.Height())
	}
	if now := time.Now(); untrusted.Time().After(now.Add(MaxClockDrift)) {
		return fmt.Errorf("%w: header %d at %s, now %s", header.ErrFromFuture,
			untrusted.Height(), untrusted.Time().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
	}
	if untrusted.Time().Before(trusted.Time()) {
		return fmt.Errorf("%w: header %d at %s is older than trusted %d at %s", header.ErrUnorderedTime,
			untrusted.Height(), untrusted.Time().Format(time.RFC3339Nano), trusted.Height(), trusted.Time().Format(time.RFC3339Nano))
	}
	if !bytes.Equal(untrusted.ProposerAddress(), trusted.ProposerAddress()) {
		return fmt.Errorf("%w: %x, trusted %x", ErrWrongProposer, untrusted.ProposerAddress(), trusted.ProposerAddress())
	}
	return nil
}

// MarshalBinary returns the canonical encoding of sh.
func (sh *SignedHeader) MarshalBinary() ([]byte, error) {
	if sh.IsZero() {
		return nil, ErrMissingHeader
	}
	return bytes.Clone(sh.enc), nil
}

// UnmarshalBinary replaces sh with the decoded bytes. It rejects input over
// MaxSignedHeaderSize before decoding, so a peer cannot make it allocate
// more than that.
func (sh *SignedHeader) UnmarshalBinary(data []byte) error {
	if len(data) > MaxSignedHeaderSize {
		return fmt.Errorf("signed header: %w: %d bytes, limit %d", ErrTooLarge, len(data), MaxSignedHeaderSize)
	}
	var msg pb.SignedHeader
	if err := proto.Unmarshal(data, &msg); err != nil {
		return fmt.Errorf("signed header: %w: %w", ErrDecode, err)
	}
	return sh.fromProto(&msg)
}

func (sh *SignedHeader) toProto() *pb.SignedHeader {
	return &pb.SignedHeader{
		Header:    sh.hdr.toProto(),
		Signature: sh.signature,
		Signer:    sh.signer,
	}
}

// fromProto takes ownership of msg's slices (protobuf copies them out of the
// input when decoding), so no further copy is needed.
func (sh *SignedHeader) fromProto(msg *pb.SignedHeader) error {
	if msg.GetHeader() == nil {
		return fmt.Errorf("signed header: %w", ErrMissingHeader)
	}
	sh.hdr = headerFromProto(msg.GetHeader())
	sh.signature = msg.GetSignature()
	sh.signer = msg.GetSigner()
	sh.seal()
	sh.valid.Store(false)
	return nil
}
