package rollkit

import (
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
)

// TestDiscoveryAcrossImplementations: headersync in rollkit format joins
// rollkit's DHT (the public DHT's protocol, the chain ID as rendezvous
// key), so that each finds the other without being told its address.
//   - a rollkit node seeded only to the rollkit source finds the headersync
//     node that advertised itself there, and connects to it;
//   - a second headersync node seeded only to the source finds that rollkit
//     node, and connects to it.
func TestDiscoveryAcrossImplementations(t *testing.T) {
	const n = 50
	c := newChain(t)
	c.extend(t, n, time.Now())
	src := startRollkit(t, rkOptions{aggregator: true, genesis: c.genesis, name: "source"})
	src.publish(t, c, 1, n)

	hs := startHeadersync(t, hsOptions{role: "light", genesis: c.genesisFile, seeds: []string{src.addr}, name: "light",
		extra: []string{"--log.level", "debug"}})
	hs.waitHeight(t, n, 30*time.Second)
	// rollkit looks the namespace up once, as it starts: the provider
	// record must be on the source by then.
	waitFor(t, 30*time.Second, "headersync to advertise itself", func() (bool, string) {
		return strings.Contains(hs.logs(), `msg=advertised`), "not yet"
	})

	rk := startRollkit(t, rkOptions{genesis: c.genesis, seeds: []string{src.addr}, name: "finder"})
	waitFor(t, 30*time.Second, "the rollkit node to find headersync by the DHT", func() (bool, string) {
		return rk.client.Host().Network().Connectedness(hs.id) == network.Connected, "not connected"
	})

	hs2 := startHeadersync(t, hsOptions{role: "light", genesis: c.genesisFile, seeds: []string{src.addr}, name: "light-2"})
	waitFor(t, 30*time.Second, "the second headersync node to find the rollkit node by the DHT", func() (bool, string) {
		return hs2.connectedTo(rk.id), "not connected"
	})
}
