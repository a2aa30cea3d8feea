// Package rollkit is the rollkit v0.13 header format: rollkit's SignedHeader
// and Block on the wire (its protobuf messages, package rollkit), CometBFT's
// header hash, CometBFT vote sign-bytes as what the sequencer signs, and an
// ABCI commit hash as the link from a header to the signature of the one
// below. A headersync node in this format syncs and serves the chain of a
// rollkit v0.13 network, byte for byte.
//
// The fields of a rollkit header are those of types.Header, so this package
// reuses that struct for the unsigned content and gives it rollkit's
// encoding, hashing and signing. CometBFT's own types do the hashing, the
// validator-set hash, the vote sign-bytes and the commit hash: they are the
// field's definition of those encodings.
//
// rollkit v0.13.7 itself checks no sequencer signature during p2p sync (its
// SignedHeader's Validate only requires a proposer address). Validate here
// checks everything a header states about itself: a single ed25519
// validator whose address is the proposer's, a ValidatorHash that is that
// validator set's hash (without it CometBFT's hash is empty and nothing
// binds the fields), and the signature over the vote sign-bytes. That the
// validator is the genesis sequencer is the sync service's rule (its
// Signer must be the genesis key). ValidateChain and LinkBelow validate a
// run of consecutive headers with one signature check, as the native
// format's do: each header's ValidatorHash, LastHeaderHash and
// LastCommitHash are in the hash of the header above it.
package rollkit
