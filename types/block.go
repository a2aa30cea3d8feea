package types

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/celestiaorg/go-header"
	"google.golang.org/protobuf/proto"

	"github.com/headersync/headersync/types/pb"
)

// MaxBlockSize bounds the encoding Block.UnmarshalBinary accepts, and so the
// size of a block the network carries. go-header frames each exchange
// message with a 1 MiB limit (go-libp2p-messenger's serde), which a block
// must fit in with its response envelope.
const MaxBlockSize = 1<<20 - 4<<10

// Data holds a block's transactions.
type Data struct {
	Txs [][]byte
}

// Hash returns SHA-256 of the canonical encoding of d; Header.DataHash
// commits to it.
func (d *Data) Hash() header.Hash {
	bz, _ := canonical.Marshal(d.toProto()) // cannot fail: only bytes fields
	sum := sha256.Sum256(bz)
	return sum[:]
}

// MarshalBinary returns the canonical encoding of d.
func (d *Data) MarshalBinary() ([]byte, error) {
	return canonical.Marshal(d.toProto())
}

// UnmarshalBinary replaces d with the decoded bytes.
func (d *Data) UnmarshalBinary(data []byte) error {
	if len(data) > MaxBlockSize {
		return fmt.Errorf("data: %w: %d bytes, limit %d", ErrTooLarge, len(data), MaxBlockSize)
	}
	var msg pb.Data
	if err := proto.Unmarshal(data, &msg); err != nil {
		return fmt.Errorf("data: %w: %w", ErrDecode, err)
	}
	d.Txs = msg.GetTxs()
	return nil
}

func (d *Data) toProto() *pb.Data {
	return &pb.Data{Txs: d.Txs}
}

func (d Data) clone() Data {
	if d.Txs == nil {
		return d
	}
	txs := make([][]byte, len(d.Txs))
	for i, tx := range d.Txs {
		txs[i] = bytes.Clone(tx)
	}
	return Data{Txs: txs}
}

// Block is a SignedHeader with the Data its DataHash commits to. It is
// immutable: build it with NewBlock or UnmarshalBinary. Its hash is its
// header's hash.
type Block struct {
	sh    *SignedHeader
	data  Data
	valid atomic.Bool
}

var _ header.Header[*Block] = (*Block)(nil)

// NewBlock assembles a block without checking it; call Validate for that.
// It copies data.
func NewBlock(sh *SignedHeader, data Data) *Block {
	return &Block{sh: sh, data: data.clone()}
}

// New returns an empty Block for UnmarshalBinary (go-header's factory).
func (b *Block) New() *Block { return new(Block) }

// IsZero reports whether b is nil or was never built.
func (b *Block) IsZero() bool { return b == nil || b.sh.IsZero() }

// SignedHeader returns the block's signed header.
func (b *Block) SignedHeader() *SignedHeader { return b.sh }

// Data returns the block's transactions.
func (b *Block) Data() Data { return b.data }

// Signer returns the public key that signed the block's header.
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
		return ErrMissingHeader
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
	if got := b.data.Hash(); !bytes.Equal(got, b.sh.hdr.DataHash) {
		return fmt.Errorf("block %d: %w: data hashes to %x, header has %x",
			b.sh.hdr.Height, ErrDataHashMismatch, []byte(got), []byte(b.sh.hdr.DataHash))
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

// MarshalBinary returns the canonical encoding of b.
func (b *Block) MarshalBinary() ([]byte, error) {
	if b.IsZero() {
		return nil, ErrMissingHeader
	}
	return canonical.Marshal(&pb.Block{SignedHeader: b.sh.toProto(), Data: b.data.toProto()})
}

// UnmarshalBinary replaces b with the decoded bytes; input over MaxBlockSize
// is rejected before decoding.
func (b *Block) UnmarshalBinary(data []byte) error {
	if len(data) > MaxBlockSize {
		return fmt.Errorf("block: %w: %d bytes, limit %d", ErrTooLarge, len(data), MaxBlockSize)
	}
	var msg pb.Block
	if err := proto.Unmarshal(data, &msg); err != nil {
		return fmt.Errorf("block: %w: %w", ErrDecode, err)
	}
	if msg.GetSignedHeader() == nil {
		return fmt.Errorf("block: %w", ErrMissingHeader)
	}
	sh := new(SignedHeader)
	if err := sh.fromProto(msg.GetSignedHeader()); err != nil {
		return fmt.Errorf("block: %w", err)
	}
	b.sh = sh
	b.data = Data{Txs: msg.GetData().GetTxs()}
	b.valid.Store(false)
	return nil
}
