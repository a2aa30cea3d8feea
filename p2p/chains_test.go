package p2p

import (
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/stretchr/testify/require"
)

func TestOtherChain(t *testing.T) {
	for _, tc := range []struct {
		protos []protocol.ID
		chain  string
		other  bool
	}{
		{[]protocol.ID{"/ipfs/id/1.0.0", "/headersync/gm/kad/1.0.0"}, "", false},
		{[]protocol.ID{"/ipfs/id/1.0.0", "/headersync/other/kad/1.0.0"}, "other", true},
		{[]protocol.ID{"/ipfs/kad/1.0.0", "/meshsub/1.1.0"}, "", false},
		{[]protocol.ID{"/headersync//kad/1.0.0"}, "", false},
		{nil, "", false},
	} {
		chain, other := otherChain(tc.protos, "gm")
		require.Equal(t, tc.chain, chain, "%v", tc.protos)
		require.Equal(t, tc.other, other, "%v", tc.protos)
	}
}

func TestChainRecordsNoteOnce(t *testing.T) {
	var r chainRecords
	require.True(t, r.note("p1", "other"))
	require.False(t, r.note("p1", "other"))
	require.True(t, r.note("p1", "third"), "a peer that changed chain is news")
	require.Equal(t, "third", r.chainOf("p1"))
	require.Empty(t, r.chainOf("p2"))
}

func TestChainRecordsBounded(t *testing.T) {
	var r chainRecords
	for i := range maxChainRecords + 10 {
		require.True(t, r.note(peer.ID(fmt.Sprintf("p%d", i)), "other"))
	}
	require.Equal(t, maxChainRecords, r.records().Len())
	require.Equal(t, "other", r.chainOf(peer.ID(fmt.Sprintf("p%d", maxChainRecords+9))))
}
