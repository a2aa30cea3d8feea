//go:build race

package bench

// raceEnabled: the tests run under the race detector, which slows every
// libp2p host several times over.
const raceEnabled = true
