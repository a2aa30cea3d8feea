package rollkit

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/cometbft/cometbft/crypto/merkle"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/headersync/headersync/types"
)

// MaxBlockSize bounds the encoding of a block, as in the native format.
const MaxBlockSize = types.MaxBlockSize

// DataHash returns what a header's DataHash is for a block with data:
// rollkit's Data.Hash, the Merkle root (CometBFT's) of one leaf, the
// encoding of rollkit's Data message.
func DataHash(d types.Data) header.Hash {
	return header.Hash(merkle.HashFromByteSlices([][]byte{appendData(nil, d)}))
}

// appendData appends d as rollkit's Data message.
func appendData(b []byte, d types.Data) []byte {
	for _, tx := range d.Txs {
		b = protowire.AppendTag(b, fDataTxs, protowire.BytesType)
		b = protowire.AppendBytes(b, tx)
	}
	return b
}

// Block is rollkit v0.13's Block: a SignedHeader and the transactions its
// DataHash commits to. It is immutable: build it with NewBlock or
// UnmarshalBinary. Its hash is its header's.
type Block struct {
	sh    *SignedHeader
	data  types.Data
	valid atomic.Bool
}

var _ header.Header[*Block] = (*Block)(nil)

// NewBlock assembles a block without checking it; call Validate for that.
// It copies data.
func NewBlock(sh *SignedHeader, data types.Data) *Block {
	txs := make([][]byte, len(data.Txs))
	for i, tx := range data.Txs {
		txs[i] = bytes.Clone(tx)
	}
	return &Block{sh: sh, data: types.Data{Txs: txs}}
}

// New returns an empty Block for UnmarshalBinary (go-header's factory).
func (b *Block) New() *Block { return new(Block) }

// IsZero reports whether b is nil or was never built.
func (b *Block) IsZero() bool { return b == nil || b.sh.IsZero() }

// SignedHeader returns the block's signed header.
func (b *Block) SignedHeader() *SignedHeader { return b.sh }

// Data returns the block's transactions; they must not be modified.
func (b *Block) Data() types.Data { return b.data }

// Signer returns the key of the header's one validator.
func (b *Block) Signer() ed25519.PublicKey { return b.sh.Signer() }

// Hash returns the header hash.
func (b *Block) Hash() header.Hash { return b.sh.Hash() }

// Height returns the block height.
func (b *Block) Height() uint64 { return b.sh.Height() }

// ChainID returns the chain the block belongs to.
func (b *Block) ChainID() string { return b.sh.ChainID() }

// LastHeader returns the hash of the previous header.
func (b *Block) LastHeader() header.Hash { return b.sh.LastHeader() }

// Time returns the block time.
func (b *Block) Time() time.Time { return b.sh.Time() }

// Validate checks the signed header and that its DataHash commits to the
// block's data. A success is remembered.
func (b *Block) Validate() error {
	if b.IsZero() {
		return types.ErrMissingHeader
	}
	if b.valid.Load() {
		return nil
	}
	if err := b.sh.Validate(); err != nil {
		return fmt.Errorf("block: %w", err)
	}
	if err := b.validateData(); err != nil {
		return err
	}
	b.valid.Store(true)
	return nil
}

// validateData reports whether the header's DataHash commits to b's data.
func (b *Block) validateData() error {
	if got := DataHash(b.data); !bytes.Equal(got, b.sh.hdr.DataHash) {
		return fmt.Errorf("block %d: %w: data hashes to %X, header has %X",
			b.sh.hdr.Height, types.ErrDataHashMismatch, []byte(got), []byte(b.sh.hdr.DataHash))
	}
	return nil
}

// Verify checks untrusted against b as SignedHeader.Verify does, and that
// untrusted's data matches its header.
func (b *Block) Verify(untrusted *Block) error {
	if b.IsZero() || untrusted.IsZero() {
		return &header.VerifyError{Reason: header.ErrZeroHeader}
	}
	if err := untrusted.Validate(); err != nil {
		return &header.VerifyError{Reason: err}
	}
	return b.sh.Verify(untrusted.sh)
}

// MarshalBinary returns rollkit's encoding of b: its SignedHeader and its
// Data, always present.
func (b *Block) MarshalBinary() ([]byte, error) {
	if b.IsZero() {
		return nil, types.ErrMissingHeader
	}
	data := appendData(nil, b.data)
	out := make([]byte, 0, len(b.sh.enc)+len(data)+16)
	out = protowire.AppendTag(out, fBlockSignedHeader, protowire.BytesType)
	out = protowire.AppendBytes(out, b.sh.enc)
	out = protowire.AppendTag(out, fBlockData, protowire.BytesType)
	return protowire.AppendBytes(out, data), nil
}

// UnmarshalBinary replaces b with the decoded rollkit Block; input over
// MaxBlockSize is rejected before decoding.
func (b *Block) UnmarshalBinary(data []byte) error {
	if len(data) > MaxBlockSize {
		return fmt.Errorf("block: %w: %d bytes, limit %d", types.ErrTooLarge, len(data), MaxBlockSize)
	}
	var (
		sh  *SignedHeader
		txs [][]byte
	)
	err := eachField(data, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
		switch num {
		case fBlockSignedHeader:
			dec, err := decodeSignedHeader(v)
			if err != nil {
				return err
			}
			sh = dec
		case fBlockData:
			return eachField(v, func(_ protowire.Number, _ protowire.Type, tx []byte, _ uint64) error {
				txs = append(txs, bytes.Clone(tx))
				return nil
			}, dataFields)
		}
		return nil
	}, blockFields)
	if err != nil {
		return fmt.Errorf("block: %w", err)
	}
	if sh == nil {
		return fmt.Errorf("block: %w", types.ErrMissingHeader)
	}
	if err := sh.seal(); err != nil {
		return fmt.Errorf("block: %w", err)
	}
	b.sh, b.data = sh, types.Data{Txs: txs}
	b.valid.Store(false)
	return nil
}
