package rollkit

import (
	"fmt"
	"math"
	"time"

	"github.com/celestiaorg/go-header"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	cmtypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/headersync/headersync/types"
)

// Sizes of the fixed-length fields.
const (
	HashSize    = types.HashSize // LastHeaderHash, LastCommitHash, DataHash, ValidatorHash, when set
	AddressSize = 20             // CometBFT's validator address: SHA-256(public key)[:20]
	// MaxAppHashSize bounds AppHash, LastResultsHash and ConsensusHash,
	// which the application or rollkit fill and which are not always 32
	// bytes (a test application's app hash is 8).
	MaxAppHashSize = 64
)

// emptyEvidenceHash is the evidence hash rollkit puts in every CometBFT
// header it hashes: the hash of no evidence.
var emptyEvidenceHash = new(cmtypes.EvidenceData).Hash()

// headerHash returns the CometBFT hash of h as rollkit builds it: evidence
// hash of no evidence, ValidatorsHash = NextValidatorsHash = ValidatorHash,
// a last block ID of LastHeaderHash and no part set. It is nil when
// ValidatorHash is empty (CometBFT's rule).
func headerHash(h *types.Header) header.Hash {
	ch := cmtypes.Header{
		Version:            cmtversion.Consensus{Block: h.Version.Block, App: h.Version.App},
		ChainID:            h.ChainID,
		Height:             int64(h.Height),
		Time:               h.Time,
		LastBlockID:        cmtypes.BlockID{Hash: cmtbytes.HexBytes(h.LastHeaderHash)},
		LastCommitHash:     cmtbytes.HexBytes(h.LastCommitHash),
		DataHash:           cmtbytes.HexBytes(h.DataHash),
		ValidatorsHash:     cmtbytes.HexBytes(h.ValidatorHash),
		NextValidatorsHash: cmtbytes.HexBytes(h.ValidatorHash),
		ConsensusHash:      cmtbytes.HexBytes(h.ConsensusHash),
		AppHash:            cmtbytes.HexBytes(h.AppHash),
		LastResultsHash:    cmtbytes.HexBytes(h.LastResultsHash),
		EvidenceHash:       emptyEvidenceHash,
		ProposerAddress:    h.ProposerAddress,
	}
	return header.Hash(ch.Hash())
}

// voteSignBytes returns what the sequencer signs for h, whose hash is hash:
// the sign-bytes of a CometBFT precommit for it, round 0, by the proposer
// at index 0, at the header's time.
func voteSignBytes(h *types.Header, hash header.Hash) []byte {
	vote := cmtproto.Vote{
		Type:             cmtproto.PrecommitType,
		Height:           int64(h.Height),
		BlockID:          cmtproto.BlockID{Hash: cmtbytes.HexBytes(hash)},
		Timestamp:        h.Time,
		ValidatorAddress: h.ProposerAddress,
	}
	return cmtypes.VoteSignBytes(h.ChainID, &vote)
}

// commitHash returns what the header above carries as LastCommitHash for
// the header below signed with signature: the hash of an ABCI commit of
// that one signature by the proposer at the time of the header above
// (rollkit's Signature.GetCommitHash). A commit's hash covers its
// signatures only, so rollkit's height and block ID in it (which its
// sequencer takes from the header being built) do not matter.
func commitHash(signature []byte, aboveTime time.Time, proposer []byte) header.Hash {
	commit := cmtypes.Commit{
		Signatures: []cmtypes.CommitSig{{
			BlockIDFlag:      cmtypes.BlockIDFlagCommit,
			ValidatorAddress: proposer,
			Timestamp:        aboveTime,
			Signature:        signature,
		}},
	}
	return header.Hash(commit.Hash())
}

// Fields of rollkit's protobuf messages (proto/rollkit/rollkit.proto).
const (
	fVersionBlock, fVersionApp = 1, 2

	fHeaderVersion         = 1
	fHeaderHeight          = 2
	fHeaderTime            = 3
	fHeaderLastHeaderHash  = 4
	fHeaderLastCommitHash  = 5
	fHeaderDataHash        = 6
	fHeaderConsensusHash   = 7
	fHeaderAppHash         = 8
	fHeaderLastResultsHash = 9
	fHeaderProposerAddress = 10
	fHeaderValidatorHash   = 11
	fHeaderChainID         = 12

	fSignedHeaderHeader     = 1
	fSignedHeaderSignature  = 2
	fSignedHeaderValidators = 3

	fBlockSignedHeader = 1
	fBlockData         = 2
	fDataTxs           = 1
)

// appendHeader appends h as rollkit's Header message, as gogoproto marshals
// it: fields in order, zero values left out, the version always present.
func appendHeader(b []byte, h *types.Header) []byte {
	var v []byte
	v = appendVarint(v, fVersionBlock, h.Version.Block)
	v = appendVarint(v, fVersionApp, h.Version.App)
	b = protowire.AppendTag(b, fHeaderVersion, protowire.BytesType)
	b = protowire.AppendBytes(b, v)
	b = appendVarint(b, fHeaderHeight, h.Height)
	b = appendVarint(b, fHeaderTime, unixNano(h.Time))
	b = appendBytes(b, fHeaderLastHeaderHash, h.LastHeaderHash)
	b = appendBytes(b, fHeaderLastCommitHash, h.LastCommitHash)
	b = appendBytes(b, fHeaderDataHash, h.DataHash)
	b = appendBytes(b, fHeaderConsensusHash, h.ConsensusHash)
	b = appendBytes(b, fHeaderAppHash, h.AppHash)
	b = appendBytes(b, fHeaderLastResultsHash, h.LastResultsHash)
	b = appendBytes(b, fHeaderProposerAddress, h.ProposerAddress)
	b = appendBytes(b, fHeaderValidatorHash, h.ValidatorHash)
	b = appendBytes(b, fHeaderChainID, []byte(h.ChainID))
	return b
}

func appendVarint(b []byte, field protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBytes(b []byte, field protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// decodeHeader decodes rollkit's Header message. Byte fields are copied.
func decodeHeader(data []byte) (types.Header, error) {
	var h types.Header
	var ns uint64
	err := eachField(data, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case fHeaderVersion:
			return decodeVersion(v, &h.Version)
		case fHeaderHeight:
			h.Height = x
		case fHeaderTime:
			ns = x
		case fHeaderLastHeaderHash:
			h.LastHeaderHash = clone(v)
		case fHeaderLastCommitHash:
			h.LastCommitHash = clone(v)
		case fHeaderDataHash:
			h.DataHash = clone(v)
		case fHeaderConsensusHash:
			h.ConsensusHash = clone(v)
		case fHeaderAppHash:
			h.AppHash = clone(v)
		case fHeaderLastResultsHash:
			h.LastResultsHash = clone(v)
		case fHeaderProposerAddress:
			h.ProposerAddress = clone(v)
		case fHeaderValidatorHash:
			h.ValidatorHash = clone(v)
		case fHeaderChainID:
			h.ChainID = string(v)
		}
		return nil
	}, headerFields)
	if err != nil {
		return types.Header{}, fmt.Errorf("header: %w", err)
	}
	if ns > math.MaxInt64 {
		return types.Header{}, fmt.Errorf("header: %w: time %d ns is past 2262", types.ErrDecode, ns)
	}
	h.Time = time.Unix(0, int64(ns)).UTC()
	return h, nil
}

// unixNano is t in nanoseconds since 1970, as rollkit keeps a header's
// time; 0 for the zero time (whose UnixNano overflows).
func unixNano(t time.Time) uint64 {
	if t.IsZero() || t.UnixNano() < 0 {
		return 0
	}
	return uint64(t.UnixNano())
}

// field is how a message field is encoded.
type field struct {
	typ      protowire.Type
	repeated bool
}

var (
	bytesField   = field{typ: protowire.BytesType}
	varintField  = field{typ: protowire.VarintType}
	versionField = map[protowire.Number]field{fVersionBlock: varintField, fVersionApp: varintField}
	headerFields = map[protowire.Number]field{
		fHeaderVersion: bytesField, fHeaderHeight: varintField, fHeaderTime: varintField,
		fHeaderLastHeaderHash: bytesField, fHeaderLastCommitHash: bytesField, fHeaderDataHash: bytesField,
		fHeaderConsensusHash: bytesField, fHeaderAppHash: bytesField, fHeaderLastResultsHash: bytesField,
		fHeaderProposerAddress: bytesField, fHeaderValidatorHash: bytesField, fHeaderChainID: bytesField,
	}
	signedHeaderFields = map[protowire.Number]field{
		fSignedHeaderHeader: bytesField, fSignedHeaderSignature: bytesField, fSignedHeaderValidators: bytesField,
	}
	blockFields = map[protowire.Number]field{fBlockSignedHeader: bytesField, fBlockData: bytesField}
	dataFields  = map[protowire.Number]field{fDataTxs: {typ: protowire.BytesType, repeated: true}}
)

func decodeVersion(data []byte, v *types.Version) error {
	return eachField(data, func(num protowire.Number, _ protowire.Type, _ []byte, x uint64) error {
		switch num {
		case fVersionBlock:
			v.Block = x
		case fVersionApp:
			v.App = x
		}
		return nil
	}, versionField)
}

// eachField calls f with every field of the protobuf message data: v for a
// length-delimited field, x for a varint. Fields not in known are skipped,
// as protobuf does; a known field of another wire type, or a field that is
// not repeated and occurs twice (which no rollkit node sends), is malformed.
func eachField(data []byte, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error, known map[protowire.Number]field) error {
	var seen uint64 // bit i: field i seen (known fields are below 64)
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return fmt.Errorf("%w: %w", types.ErrDecode, protowire.ParseError(n))
		}
		data = data[n:]
		want, ok := known[num]
		if !ok {
			if n = protowire.ConsumeFieldValue(num, typ, data); n < 0 {
				return fmt.Errorf("%w: field %d: %w", types.ErrDecode, num, protowire.ParseError(n))
			}
			data = data[n:]
			continue
		}
		if typ != want.typ {
			return fmt.Errorf("%w: field %d has wire type %d, want %d", types.ErrDecode, num, typ, want.typ)
		}
		if !want.repeated {
			if seen&(1<<num) != 0 {
				return fmt.Errorf("%w: field %d occurs twice", types.ErrDecode, num)
			}
			seen |= 1 << num
		}
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(data)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(data)
		}
		if n < 0 {
			return fmt.Errorf("%w: field %d: %w", types.ErrDecode, num, protowire.ParseError(n))
		}
		data = data[n:]
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
