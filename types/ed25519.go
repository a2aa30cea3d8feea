package types

import (
	"crypto/ed25519"
	"sync"
	"sync/atomic"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// crypto/ed25519 decompresses the public key into a point on every Verify,
// about half of the 52 µs a verification takes here, although every header
// of a chain is signed by the one genesis key. curve25519-voi verifies with
// a precomputed (expanded) key instead. Its VerifyOptionsStdLib makes the
// same accept/reject decision as crypto/ed25519 — canonical S required,
// non-canonical and small-order keys and R accepted, cofactorless equation —
// which TestVerifyMatchesStdlib holds it to; signing stays crypto/ed25519.

var voiStdLib = &voi.Options{Verify: voi.VerifyOptionsStdLib}

// maxExpandedKeys bounds the cache of expanded keys. A node verifies one
// key (the genesis key) in practice; the bound keeps a stream of headers
// signed by made-up keys from growing it.
const maxExpandedKeys = 64

// expandedKeys caches expanded public keys by their encoding.
var expandedKeys struct {
	m sync.Map // [ed25519.PublicKeySize]byte -> *voi.ExpandedPublicKey
	n atomic.Int64
}

// expandedKey returns pub expanded, computing it on first use; nil if pub
// is not a point (crypto/ed25519 rejects every signature by such a key).
func expandedKey(pub ed25519.PublicKey) *voi.ExpandedPublicKey {
	var k [ed25519.PublicKeySize]byte
	copy(k[:], pub)
	if exp, ok := expandedKeys.m.Load(k); ok {
		return exp.(*voi.ExpandedPublicKey)
	}
	exp, err := voi.NewExpandedPublicKey(voi.PublicKey(pub))
	if err != nil {
		return nil
	}
	if expandedKeys.n.Add(1) > maxExpandedKeys {
		// Start afresh rather than track use: the genesis key comes back
		// with the next header.
		expandedKeys.m.Clear()
		expandedKeys.n.Store(1)
	}
	expandedKeys.m.Store(k, exp)
	return exp
}

// VerifyEd25519 reports whether sig is pub's signature of msg, exactly as
// crypto/ed25519.Verify does, faster. Unlike crypto/ed25519 it does not
// panic on a key of the wrong length: it rejects it.
func VerifyEd25519(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	exp := expandedKey(pub)
	if exp == nil {
		return false
	}
	return voi.VerifyExpandedWithOptions(exp, msg, sig, voiStdLib)
}
