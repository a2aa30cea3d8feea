package types

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/celestiaorg/go-header"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/headersync/headersync/types/pb"
)

// Sizes of the fixed-length fields.
const (
	HashSize      = sha256.Size // every hash field, when set
	AddressSize   = 20          // proposer address: first 20 bytes of SHA-256(public key)
	MaxChainIDLen = 50
)

// Version is the block format version and the application version.
type Version struct {
	Block uint64
	App   uint64
}

// Header is the unsigned content of a rollup block header: a plain value to
// fill in and then sign with a Signer. Its Hash is recomputed on every call;
// SignedHeader caches it.
type Header struct {
	Version         Version
	Height          uint64
	Time            time.Time
	ChainID         string
	LastHeaderHash  header.Hash // hash of the header at Height-1; empty at the initial height
	LastCommitHash  header.Hash // CommitHash of the signature of the header at Height-1
	DataHash        header.Hash // Data.Hash of the block's transactions
	ConsensusHash   header.Hash
	AppHash         header.Hash
	LastResultsHash header.Hash
	ValidatorHash   header.Hash
	ProposerAddress []byte // Address of the sequencer's public key
}

// Hash returns SHA-256 of the canonical encoding of h.
func (h *Header) Hash() header.Hash {
	sum := sha256.Sum256(h.encode())
	return sum[:]
}

// MarshalBinary returns the canonical encoding of h.
func (h *Header) MarshalBinary() ([]byte, error) {
	return h.encode(), nil
}

// UnmarshalBinary replaces h with the decoded bytes.
func (h *Header) UnmarshalBinary(data []byte) error {
	if len(data) > MaxSignedHeaderSize {
		return fmt.Errorf("header: %w: %d bytes, limit %d", ErrTooLarge, len(data), MaxSignedHeaderSize)
	}
	var msg pb.Header
	if err := proto.Unmarshal(data, &msg); err != nil {
		return fmt.Errorf("header: %w: %w", ErrDecode, err)
	}
	*h = headerFromProto(&msg)
	return nil
}

// encode returns the canonical encoding of h: exactly what protobuf's
// deterministic marshal of pb.Header gives (TestHeaderEncodingIsProtobufs
// holds it to that), written directly because every header is hashed once
// per value and the generic marshaller costs several times more.
func (h *Header) encode() []byte {
	var v [24]byte // the Version message: two varint fields
	version := v[:0]
	if h.Version.Block != 0 {
		version = protowire.AppendTag(version, 1, protowire.VarintType)
		version = protowire.AppendVarint(version, h.Version.Block)
	}
	if h.Version.App != 0 {
		version = protowire.AppendTag(version, 2, protowire.VarintType)
		version = protowire.AppendVarint(version, h.Version.App)
	}

	b := make([]byte, 0, 64+len(version)+len(h.ChainID)+8*(HashSize+2)+len(h.ProposerAddress))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, version)
	if h.Height != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, h.Height)
	}
	if ns := unixNano(h.Time); ns != 0 {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(ns))
	}
	if h.ChainID != "" {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendString(b, h.ChainID)
	}
	for i, f := range [...][]byte{h.LastHeaderHash, h.LastCommitHash, h.DataHash, h.ConsensusHash,
		h.AppHash, h.LastResultsHash, h.ValidatorHash, h.ProposerAddress} {
		if len(f) != 0 {
			b = protowire.AppendTag(b, protowire.Number(5+i), protowire.BytesType)
			b = protowire.AppendBytes(b, f)
		}
	}
	return b
}

var canonical = proto.MarshalOptions{Deterministic: true}

func (h *Header) toProto() *pb.Header {
	return &pb.Header{
		Version:         &pb.Version{Block: h.Version.Block, App: h.Version.App},
		Height:          h.Height,
		Time:            unixNano(h.Time),
		ChainId:         h.ChainID,
		LastHeaderHash:  h.LastHeaderHash,
		LastCommitHash:  h.LastCommitHash,
		DataHash:        h.DataHash,
		ConsensusHash:   h.ConsensusHash,
		AppHash:         h.AppHash,
		LastResultsHash: h.LastResultsHash,
		ValidatorHash:   h.ValidatorHash,
		ProposerAddress: h.ProposerAddress,
	}
}

func headerFromProto(p *pb.Header) Header {
	h := Header{
		Height:          p.GetHeight(),
		Time:            fromUnixNano(p.GetTime()),
		ChainID:         p.GetChainId(),
		LastHeaderHash:  p.GetLastHeaderHash(),
		LastCommitHash:  p.GetLastCommitHash(),
		DataHash:        p.GetDataHash(),
		ConsensusHash:   p.GetConsensusHash(),
		AppHash:         p.GetAppHash(),
		LastResultsHash: p.GetLastResultsHash(),
		ValidatorHash:   p.GetValidatorHash(),
		ProposerAddress: p.GetProposerAddress(),
	}
	if v := p.GetVersion(); v != nil {
		h.Version = Version{Block: v.GetBlock(), App: v.GetApp()}
	}
	return h
}

// clone returns a deep copy of h, so the copy shares no memory with h.
func (h Header) clone() Header {
	h.LastHeaderHash = bytes.Clone(h.LastHeaderHash)
	h.LastCommitHash = bytes.Clone(h.LastCommitHash)
	h.DataHash = bytes.Clone(h.DataHash)
	h.ConsensusHash = bytes.Clone(h.ConsensusHash)
	h.AppHash = bytes.Clone(h.AppHash)
	h.LastResultsHash = bytes.Clone(h.LastResultsHash)
	h.ValidatorHash = bytes.Clone(h.ValidatorHash)
	h.ProposerAddress = bytes.Clone(h.ProposerAddress)
	h.Time = fromUnixNano(unixNano(h.Time)) // drop monotonic reading and location
	return h
}

// validate checks the stateless rules of the unsigned header.
func (h *Header) validate() error {
	if h.Height == 0 {
		return ErrInvalidHeight
	}
	if err := ValidateChainID(h.ChainID); err != nil {
		return err
	}
	if unixNano(h.Time) <= 0 {
		return fmt.Errorf("%w: %d ns", ErrInvalidTime, unixNano(h.Time))
	}
	switch len(h.ProposerAddress) {
	case 0:
		return ErrMissingProposer
	case AddressSize:
	default:
		return fmt.Errorf("%w: %d bytes, want %d", ErrInvalidProposer, len(h.ProposerAddress), AddressSize)
	}
	if len(h.DataHash) != HashSize {
		return fmt.Errorf("%w: data_hash has %d bytes, want %d", ErrInvalidHashLength, len(h.DataHash), HashSize)
	}
	optional := []struct {
		name string
		hash header.Hash
	}{
		{"last_header_hash", h.LastHeaderHash},
		{"last_commit_hash", h.LastCommitHash},
		{"consensus_hash", h.ConsensusHash},
		{"app_hash", h.AppHash},
		{"last_results_hash", h.LastResultsHash},
		{"validator_hash", h.ValidatorHash},
	}
	for _, f := range optional {
		if len(f.hash) != 0 && len(f.hash) != HashSize {
			return fmt.Errorf("%w: %s has %d bytes, want 0 or %d", ErrInvalidHashLength, f.name, len(f.hash), HashSize)
		}
	}
	return nil
}

// ValidateChainID reports whether id can name a chain: 1 to 50 characters
// from [A-Za-z0-9._-], since it becomes part of libp2p protocol and topic IDs.
func ValidateChainID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty", ErrInvalidChainID)
	}
	// Ranged by rune, so a non-ASCII ID is reported by its characters,
	// not by the bytes of their UTF-8 encoding ('ç', not 'Ã').
	if n := utf8.RuneCountInString(id); n > MaxChainIDLen {
		return fmt.Errorf("%w: %d characters, at most %d allowed", ErrInvalidChainID, n, MaxChainIDLen)
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("%w: %q contains %q; only letters, digits, '.', '_' and '-' are allowed", ErrInvalidChainID, id, c)
		}
	}
	return nil
}

// unixNano maps the zero time to 0, because time.Time{}.UnixNano overflows.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
