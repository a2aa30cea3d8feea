// Package types defines the rollup chain's data types — Header, SignedHeader,
// Data and Block — with their canonical protobuf encoding, hashing, ed25519
// signing and the validation rules that go-header's store, exchange and
// syncer rely on. It also holds the chain's Genesis.
//
// SignedHeader and Block are immutable once built (by a Signer, NewBlock or
// UnmarshalBinary): their hash is computed once at construction, and a
// successful Validate is remembered, so go-header's many calls to Hash and
// the two Verify passes per header cost no signature check after the first.
// Slices returned by their accessors alias the value and must not be
// modified; Header() returns a deep copy that may be.
//
// Both *SignedHeader and *Block implement header.Header from
// github.com/celestiaorg/go-header.
package types
