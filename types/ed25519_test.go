package types

import (
	"crypto/ed25519"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/curve"
)

// TestVerifyMatchesStdlib holds VerifyEd25519 to crypto/ed25519's decision,
// case by case: honest signatures, corrupted ones, non-canonical S, and
// public keys and R values that are small-order, of mixed order, not
// canonically encoded or not points at all. One different answer would let
// a node accept what a go-header peer rejects, or the reverse.
func TestVerifyMatchesStdlib(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'h', 's'}))
	var accepted, rejected int
	same := func(what string, pub, msg, sig []byte) {
		t.Helper()
		want := ed25519.Verify(pub, msg, sig)
		if got := VerifyEd25519(pub, msg, sig); got != want {
			t.Fatalf("%s: VerifyEd25519 says %v, crypto/ed25519 %v\npub %x\nmsg %x\nsig %x", what, got, want, pub, msg, sig)
		}
		if want {
			accepted++
		} else {
			rejected++
		}
	}
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}

	// Honest keys: valid, corrupted and non-canonical signatures.
	type signed struct{ pub, msg, sig []byte }
	var honest []signed
	for i := 0; i < 100; i++ {
		priv := ed25519.NewKeyFromSeed(randBytes(ed25519.SeedSize))
		pub := priv.Public().(ed25519.PublicKey)
		msg := randBytes(rng.IntN(200))
		sig := ed25519.Sign(priv, msg)
		honest = append(honest, signed{pub, msg, sig})
		same("valid", pub, msg, sig)

		bad := append([]byte(nil), sig...)
		bad[rng.IntN(len(bad))] ^= 1 << rng.IntN(8)
		same("signature bit flipped", pub, msg, bad)
		same("message changed", pub, append(append([]byte(nil), msg...), 0), sig)
		same("signature of another message", pub, randBytes(len(msg)+1), sig)
		if i > 0 {
			same("another key", honest[i-1].pub, msg, sig)
		}
		same("S + L", pub, msg, withS(sig, new(big.Int).Add(leInt(sig[32:]), groupOrder)))
		same("S with its top bit set", pub, msg, withTopBit(sig))
		same("S = L", pub, msg, withS(sig, groupOrder))
	}

	// Points that strict and lax verifiers disagree on.
	special := specialEncodings()
	for _, s := range honest[:8] {
		for _, enc := range special {
			same("key plus torsion", addEncoded(t, s.pub, enc), s.msg, s.sig)
			same("R plus torsion", s.pub, s.msg, append(addEncoded(t, s.sig[:32], enc), s.sig[32:]...))
			same("special key", enc, s.msg, s.sig)
			same("special R", s.pub, s.msg, append(append([]byte(nil), enc...), s.sig[32:]...))
		}
	}
	scalars := [][]byte{make([]byte, 32), leBytes(big.NewInt(1)), leBytes(new(big.Int).Sub(groupOrder, big.NewInt(1)))}
	msgs := [][]byte{nil, randBytes(32), randBytes(100)}
	for _, a := range special {
		for _, r := range special {
			for _, s := range scalars {
				for _, m := range msgs {
					same("small-order or non-canonical key and R", a, m, append(append([]byte(nil), r...), s...))
				}
			}
		}
	}
	t.Logf("%d accepted, %d rejected, both ways alike", accepted, rejected)
	if accepted < 150 {
		t.Fatalf("only %d cases accepted: the lax cases were not exercised", accepted)
	}
}

var (
	fieldPrime    = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	groupOrder, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
)

// specialEncodings returns, without duplicates: the eight small-order
// points, every encoding of y < 19 and of y = p-1 with either sign bit
// (points or not), and every non-canonical encoding y = p+k.
func specialEncodings() [][]byte {
	seen := make(map[string]bool)
	var out [][]byte
	add := func(b []byte) {
		if !seen[string(b)] {
			seen[string(b)] = true
			out = append(out, b)
		}
	}
	for _, p := range curve.EIGHT_TORSION {
		var c curve.CompressedEdwardsY
		c.SetEdwardsPoint(p)
		add(append([]byte(nil), c[:]...))
	}
	ys := []*big.Int{new(big.Int).Sub(fieldPrime, big.NewInt(1))}
	for k := int64(0); k < 19; k++ {
		ys = append(ys, big.NewInt(k), new(big.Int).Add(fieldPrime, big.NewInt(k)))
	}
	for _, y := range ys {
		b := leBytes(y)
		add(b)
		neg := append([]byte(nil), b...)
		neg[31] |= 0x80
		add(neg)
	}
	return out
}

// addEncoded returns the encoding of the sum of two encoded points, so that
// a genuine key or R gains a small-order component.
func addEncoded(t *testing.T, a, b []byte) []byte {
	t.Helper()
	pa, okA := decodePoint(a)
	pb, okB := decodePoint(b)
	if !okA || !okB {
		return append([]byte(nil), a...)
	}
	var sum curve.EdwardsPoint
	sum.Add(pa, pb)
	var c curve.CompressedEdwardsY
	c.SetEdwardsPoint(&sum)
	return append([]byte(nil), c[:]...)
}

func decodePoint(b []byte) (*curve.EdwardsPoint, bool) {
	var c curve.CompressedEdwardsY
	if _, err := c.SetBytes(b); err != nil {
		return nil, false
	}
	var p curve.EdwardsPoint
	if _, err := p.SetCompressedY(&c); err != nil {
		return nil, false
	}
	return &p, true
}

func leInt(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	return new(big.Int).SetBytes(be)
}

func leBytes(x *big.Int) []byte {
	be := x.FillBytes(make([]byte, 32))
	le := make([]byte, 32)
	for i := range be {
		le[31-i] = be[i]
	}
	return le
}

func withS(sig []byte, s *big.Int) []byte {
	return append(append([]byte(nil), sig[:32]...), leBytes(s)...)
}

func withTopBit(sig []byte) []byte {
	out := append([]byte(nil), sig...)
	out[63] |= 0x80
	return out
}
