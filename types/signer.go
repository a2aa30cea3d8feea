package types

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"time"
)

// signDomain separates header signatures from anything else the sequencer key
// might ever sign: the signed message is signDomain followed by the hash.
const signDomain = "headersync/signed-header/v1\x00"

// Address returns the proposer address of a public key: the first
// AddressSize bytes of its SHA-256.
func Address(pub ed25519.PublicKey) []byte {
	sum := sha256.Sum256(pub)
	return sum[:AddressSize]
}

// signBytes builds the message the sequencer signs for a header hash.
func signBytes(hash []byte) []byte {
	msg := make([]byte, 0, len(signDomain)+len(hash))
	msg = append(msg, signDomain...)
	return append(msg, hash...)
}

func verifySignature(pub ed25519.PublicKey, hash, sig []byte) bool {
	return VerifyEd25519(pub, signBytes(hash), sig)
}

// Signer holds the sequencer's private key and signs headers with it.
type Signer struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	addr []byte
}

// NewSigner wraps an ed25519 private key.
func NewSigner(priv ed25519.PrivateKey) (*Signer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("signer: private key has %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	priv = bytes.Clone(priv)
	pub := priv.Public().(ed25519.PublicKey)
	return &Signer{priv: priv, pub: pub, addr: Address(pub)}, nil
}

// GenerateSigner creates a Signer with a fresh random key.
func GenerateSigner() (*Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("signer: generate key: %w", err)
	}
	return NewSigner(priv)
}

// PublicKey returns the signer's public key.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.pub }

// PrivateKey returns the signer's private key, for saving it.
func (s *Signer) PrivateKey() ed25519.PrivateKey { return s.priv }

// Address returns the proposer address of the signer's key.
func (s *Signer) Address() []byte { return s.addr }

// Sign signs h. An empty ProposerAddress is filled in with the signer's; any
// other value is an error, as is a header that fails the stateless checks.
func (s *Signer) Sign(h Header) (*SignedHeader, error) {
	if len(h.ProposerAddress) == 0 {
		h.ProposerAddress = s.addr
	}
	if !bytes.Equal(h.ProposerAddress, s.addr) {
		return nil, fmt.Errorf("sign header %d: %w: proposer %x, signer %x", h.Height, ErrProposerMismatch, h.ProposerAddress, s.addr)
	}
	if err := h.validate(); err != nil {
		return nil, fmt.Errorf("sign header %d: %w", h.Height, err)
	}
	unsigned := NewSignedHeader(h, nil, s.pub)
	sh := NewSignedHeader(h, ed25519.Sign(s.priv, signBytes(unsigned.hash)), s.pub)
	sh.valid.Store(true)
	return sh, nil
}

// SignNext builds, signs and returns the header that follows prev, at time t,
// committing to data. It is how the sequencer extends its chain.
func (s *Signer) SignNext(prev *SignedHeader, t time.Time, data *Data) (*SignedHeader, error) {
	return s.Sign(NextHeader(prev, t, data))
}

// FirstHeader returns the unsigned header at the genesis initial height.
func FirstHeader(g *Genesis, t time.Time, data *Data) Header {
	return Header{
		Height:   g.InitialHeight,
		Time:     t,
		ChainID:  g.ChainID,
		DataHash: data.Hash(),
	}
}

// NextHeader returns the unsigned header that follows prev at time t: one
// higher, linked to prev by hash and commit, same chain, version and
// proposer, committing to data.
func NextHeader(prev *SignedHeader, t time.Time, data *Data) Header {
	return Header{
		Version:         prev.hdr.Version,
		Height:          prev.hdr.Height + 1,
		Time:            t,
		ChainID:         prev.hdr.ChainID,
		LastHeaderHash:  bytes.Clone(prev.hash),
		LastCommitHash:  prev.CommitHash(),
		DataHash:        data.Hash(),
		ProposerAddress: bytes.Clone(prev.hdr.ProposerAddress),
	}
}
