package rollkit

import (
	"crypto/ed25519"
	"fmt"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtypes "github.com/cometbft/cometbft/types"

	"github.com/headersync/headersync/types"
)

// Signer signs rollkit headers with an ed25519 key as a rollkit v0.13
// sequencer does: one validator of power 1, the vote sign-bytes signed.
// headersync runs no rollkit sequencer; tests, benchmarks and tools use it
// to build chains.
type Signer struct {
	priv ed25519.PrivateKey
	vals *cmtypes.ValidatorSet
}

// NewSigner returns a Signer for priv.
func NewSigner(priv ed25519.PrivateKey) *Signer {
	pub := cmted25519.PubKey(priv.Public().(ed25519.PublicKey))
	return &Signer{priv: priv, vals: cmtypes.NewValidatorSet([]*cmtypes.Validator{cmtypes.NewValidator(pub, 1)})}
}

// PublicKey returns the signing key's public half.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.priv.Public().(ed25519.PublicKey) }

// Address returns the proposer address of the key.
func (s *Signer) Address() []byte { return s.vals.Validators[0].Address }

// Sign fills in h's proposer address and validator hash and signs it.
func (s *Signer) Sign(h types.Header) (*SignedHeader, error) {
	h.ProposerAddress = s.Address()
	h.ValidatorHash = s.vals.Hash()
	h.Time = h.Time.UTC()
	unsigned, err := newSignedHeader(h, nil, s.vals.Copy())
	if err != nil {
		return nil, err
	}
	sig := ed25519.Sign(s.priv, unsigned.VoteSignBytes())
	sh, err := newSignedHeader(h, sig, s.vals.Copy())
	if err != nil {
		return nil, fmt.Errorf("sign header %d: %w", h.Height, err)
	}
	return sh, nil
}

// Next returns the header after prev at time t for a block with data: its
// height, chain and version prev's, linked to prev by LastHeaderHash and
// LastCommitHash, with data's DataHash. Sign it to use it.
func Next(prev *SignedHeader, t time.Time, data types.Data) types.Header {
	return types.Header{
		Version:        prev.hdr.Version,
		Height:         prev.hdr.Height + 1,
		Time:           t.UTC(),
		ChainID:        prev.hdr.ChainID,
		LastHeaderHash: prev.Hash(),
		LastCommitHash: commitHash(prev.signature, t, prev.hdr.ProposerAddress),
		DataHash:       DataHash(data),
		ConsensusHash:  make([]byte, HashSize),
	}
}

// First returns the first header of a chain at height, at time t, for a
// block with data. Sign it to use it.
func First(chainID string, height uint64, t time.Time, data types.Data) types.Header {
	return types.Header{
		Version:       types.Version{Block: 11},
		Height:        height,
		Time:          t.UTC(),
		ChainID:       chainID,
		DataHash:      DataHash(data),
		ConsensusHash: make([]byte, HashSize),
	}
}

// Chain builds n blocks of a chain from height 1 at start, step apart, each
// with data(i) for the i-th block (nil: no transactions), linked and
// signed: for tests, benchmarks and tools.
func (s *Signer) Chain(chainID string, n int, start time.Time, step time.Duration, data func(i int) types.Data) ([]*Block, error) {
	blocks := make([]*Block, 0, n)
	for i := 0; i < n; i++ {
		var d types.Data
		if data != nil {
			d = data(i)
		}
		t := start.Add(time.Duration(i) * step)
		h := First(chainID, 1, t, d)
		if i > 0 {
			h = Next(blocks[i-1].SignedHeader(), t, d)
		}
		sh, err := s.Sign(h)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, NewBlock(sh, d))
	}
	return blocks, nil
}
