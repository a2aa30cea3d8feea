package rollkit

import (
	"testing"
	"time"
)

// TestRollkitSyncsFromRollkit is the harness's own sanity check, with no
// headersync: a rollkit non-aggregator node syncs a chain from a rollkit
// broadcaster, then follows it by gossip.
func TestRollkitSyncsFromRollkit(t *testing.T) {
	c := newChain(t)
	c.extend(t, 500, time.Now())
	seq := startRollkit(t, rkOptions{aggregator: true, genesis: c.genesis, name: "sequencer"})
	seq.publish(t, c, 1, 500)

	follower := startRollkit(t, rkOptions{genesis: c.genesis, seeds: []string{seq.addr}, name: "follower"})
	follower.waitHeight(t, 500, 30*time.Second)
	requireRollkitHashes(t, follower, c, 1, 500)

	seq.waitMeshPeer(t, headerTopic(), follower.id, 10*time.Second)
	for i := 0; i < 5; i++ {
		c.appendAt(t, time.Now())
	}
	seq.publish(t, c, 501, 505)
	follower.waitHeight(t, 505, 10*time.Second)
	requireRollkitHashes(t, follower, c, 501, 505)
}
