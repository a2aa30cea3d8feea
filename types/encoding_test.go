package types

import (
	"bytes"
	"crypto/ed25519"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
)

// The encoding a SignedHeader caches is byte for byte what protobuf's
// deterministic marshal of the generated message gives, for full and for
// sparse values (empty fields are omitted, the header is always present).
func TestCachedEncodingIsProtobufs(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	s, err := NewSigner(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	data := Data{Txs: [][]byte{[]byte("x")}}
	full, err := s.Sign(Header{Height: 7, Time: time.Unix(1700000000, 5), ChainID: "gm", DataHash: data.Hash(),
		LastHeaderHash: bytes.Repeat([]byte{1}, 32), Version: Version{Block: 3}})
	if err != nil {
		t.Fatal(err)
	}
	values := []*SignedHeader{
		full,
		NewSignedHeader(full.Header(), nil, full.Signer()),
		NewSignedHeader(full.Header(), full.Signature(), nil),
		NewSignedHeader(Header{}, nil, nil),
		NewSignedHeader(Header{Height: 1 << 60, Time: time.Unix(0, -5)}, []byte{1}, []byte{2}),
	}
	for i, sh := range values {
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(sh.toProto())
		if err != nil {
			t.Fatal(err)
		}
		got, err := sh.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, got) {
			t.Fatalf("value %d: cached encoding\n%x\nprotobuf\n%x", i, got, want)
		}
		got[0] ^= 0xff // the caller's copy is its own
		again, _ := sh.MarshalBinary()
		if !bytes.Equal(want, again) {
			t.Fatalf("value %d: MarshalBinary returned its cache, and the caller changed it", i)
		}
	}
}

// The hand-written header encoding agrees with protobuf's on random values,
// every field set or empty, including extreme numbers.
func TestHeaderEncodingIsProtobufs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() []byte {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			b := make([]byte, HashSize)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return b
		default:
			return []byte{byte(rng.Uint32())}
		}
	}
	num := func() uint64 {
		switch rng.IntN(4) {
		case 0:
			return 0
		case 1:
			return ^uint64(0)
		default:
			return rng.Uint64() >> rng.IntN(64)
		}
	}
	for i := 0; i < 5000; i++ {
		h := Header{
			Version:         Version{Block: num(), App: num()},
			Height:          num(),
			ChainID:         [...]string{"", "gm", "a-much-longer.chain_id-0123456789"}[rng.IntN(3)],
			LastHeaderHash:  pick(),
			LastCommitHash:  pick(),
			DataHash:        pick(),
			ConsensusHash:   pick(),
			AppHash:         pick(),
			LastResultsHash: pick(),
			ValidatorHash:   pick(),
			ProposerAddress: pick(),
		}
		if ns := int64(num()); ns != 0 {
			h.Time = time.Unix(0, ns)
		}
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(h.toProto())
		if err != nil {
			t.Fatal(err)
		}
		if got := h.encode(); !bytes.Equal(want, got) {
			t.Fatalf("header %+v:\nencode   %x\nprotobuf %x", h, got, want)
		}
	}
}
