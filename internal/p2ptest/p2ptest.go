// Package p2ptest holds what tests of the sync packages need of libp2p
// hosts beyond making them.
package p2ptest

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	"github.com/stretchr/testify/require"
)

// RecordServes makes self know that p serves proto (p has its handler
// already). The first identify of a connection may answer with p's
// protocols from before the handler and overwrite what the peerstore held:
// wait for it to end, then record the protocol; a later identify push comes
// from p and names it.
func RecordServes(t testing.TB, self host.Host, p peer.ID, proto protocol.ID) {
	t.Helper()
	ids, ok := self.(interface{ IDService() identify.IDService })
	require.True(t, ok, "the host has no identify service")
	for _, conn := range self.Network().ConnsToPeer(p) {
		select {
		case <-ids.IDService().IdentifyWait(conn):
		case <-time.After(10 * time.Second):
			t.Fatalf("identify of %s never finished", p)
		}
	}
	require.NoError(t, self.Peerstore().AddProtocols(p, proto))
}
