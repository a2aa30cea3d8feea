// Package rollkit holds interoperability tests between headersync and real
// rollkit v0.13.7 nodes.
//
// It is a module of its own (github.com/headersync/headersync/interop/rollkit)
// because rollkit pins go-header v0.6.2, go-libp2p v0.35 and cometbft v0.38.7,
// which cannot share a build with headersync's dependencies. The tests never
// import headersync's packages: they build the headersync binary from the
// repository root, run it as a child process on loopback, and talk to it over
// libp2p (through in-process rollkit nodes) and its HTTP API.
//
// cmd/vectors writes the deterministic rollkit test vectors checked in at
// types/rollkit/testdata/vectors.json.
package rollkit
