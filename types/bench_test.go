package types

import (
	"crypto/ed25519"
	"testing"
	"time"
)

// benchChain returns two adjacent signed headers with realistic content.
func benchChain(b *testing.B) (*SignedHeader, *SignedHeader) {
	seed := make([]byte, ed25519.SeedSize)
	s, err := NewSigner(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		b.Fatal(err)
	}
	g := &Genesis{ChainID: "gm", InitialHeight: 1, GenesisTime: time.Unix(1700000000, 0), SequencerPubKey: s.PublicKey()}
	data := Data{Txs: [][]byte{[]byte("tx")}}
	h1, err := s.Sign(FirstHeader(g, g.GenesisTime, &data))
	if err != nil {
		b.Fatal(err)
	}
	h2, err := s.SignNext(h1, g.GenesisTime.Add(time.Second), &data)
	if err != nil {
		b.Fatal(err)
	}
	return h1, h2
}

// BenchmarkHash is the cost go-header pays per Hash call: a cached slice.
func BenchmarkHash(b *testing.B) {
	_, h := benchChain(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = h.Hash()
	}
}

// BenchmarkHashUncached is what computing the hash costs (done once per value).
func BenchmarkHashUncached(b *testing.B) {
	_, h := benchChain(b)
	hdr := h.hdr
	b.ReportAllocs()
	for b.Loop() {
		_ = hdr.Hash()
	}
}

// BenchmarkValidate is the full stateless check, signature included.
func BenchmarkValidate(b *testing.B) {
	_, h := benchChain(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := h.validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateRemembered is Validate on a header already validated.
func BenchmarkValidateRemembered(b *testing.B) {
	_, h := benchChain(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is adjacent verification of a validated header, the check
// go-header runs twice per synced header (session and store).
func BenchmarkVerify(b *testing.B) {
	h1, h2 := benchChain(b)
	if err := h2.Validate(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := h1.Verify(h2); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEd25519Verify is the raw signature check, the physical limit of
// header validation.
func BenchmarkEd25519Verify(b *testing.B) {
	_, h := benchChain(b)
	msg := signBytes(h.hash)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(h.signer, msg, h.signature) {
			b.Fatal("bad signature")
		}
	}
}

// BenchmarkVerifyExpanded is the signature check Validate makes: the same
// decision with the key expanded once (curve25519-voi).
func BenchmarkVerifyExpanded(b *testing.B) {
	_, h := benchChain(b)
	msg := signBytes(h.hash)
	b.ReportAllocs()
	for b.Loop() {
		if !VerifyEd25519(h.signer, msg, h.signature) {
			b.Fatal("bad signature")
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	_, h := benchChain(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshal includes computing the hash of the decoded header.
func BenchmarkUnmarshal(b *testing.B) {
	_, h := benchChain(b)
	enc, err := h.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		var sh SignedHeader
		if err := sh.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateChain is linked validation of a 128-header answer, per
// header: field checks, one signature for the lot, two hash comparisons.
func BenchmarkValidateChain(b *testing.B) {
	h1, _ := benchChain(b)
	seed := make([]byte, ed25519.SeedSize)
	s, err := NewSigner(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		b.Fatal(err)
	}
	chain := []*SignedHeader{h1}
	for len(chain) < 128 {
		next, err := s.SignNext(chain[len(chain)-1], chain[len(chain)-1].Time().Add(time.Second), &Data{})
		if err != nil {
			b.Fatal(err)
		}
		chain = append(chain, next)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, sh := range chain {
			sh.valid.Store(false) // as decoded from a peer
		}
		if err := ValidateChain(chain); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(chain)), "ns/header")
}
