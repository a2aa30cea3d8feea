package p2psync

import (
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/p2psync/peers"
	"github.com/headersync/headersync/types"
)

// authenticate pins any break in an answer on its sender, for headers and
// for blocks, whose data is checked against DataHash on every block.
func TestAuthenticate(t *testing.T) {
	s, err := types.GenerateSigner()
	require.NoError(t, err)
	g := &types.Genesis{ChainID: "gm", InitialHeight: 1, GenesisTime: time.Unix(1_700_000_000, 0), SequencerPubKey: s.PublicKey()}
	var blocks []*types.Block
	var prev *types.SignedHeader
	for i := 0; i < 5; i++ {
		data := types.Data{Txs: [][]byte{{byte(i)}}}
		h := types.FirstHeader(g, g.GenesisTime, &data)
		if prev != nil {
			h = types.NextHeader(prev, prev.Time().Add(time.Second), &data)
		}
		prev, err = s.Sign(h)
		require.NoError(t, err)
		blocks = append(blocks, types.NewBlock(prev, data))
	}
	// fresh copies remember nothing, as if decoded from a peer.
	freshBlocks := func() []*types.Block {
		out := make([]*types.Block, len(blocks))
		for i, b := range blocks {
			sh := b.SignedHeader()
			out[i] = types.NewBlock(types.NewSignedHeader(sh.Header(), sh.Signature(), sh.Signer()), b.Data())
		}
		return out
	}
	headersOf := func(bs []*types.Block) []*types.SignedHeader {
		out := make([]*types.SignedHeader, len(bs))
		for i, b := range bs {
			out[i] = b.SignedHeader()
		}
		return out
	}
	const from = peer.ID("sender")
	requireFault := func(t *testing.T, err, want error) {
		t.Helper()
		var fault *peers.Fault
		require.True(t, errors.As(err, &fault), "%v is not a peer fault", err)
		require.Equal(t, from, fault.Peer)
		require.ErrorIs(t, err, want)
	}

	require.NoError(t, authenticate(headersOf(freshBlocks()), from))
	require.NoError(t, authenticate(freshBlocks(), from))

	tampered := freshBlocks()
	sh := tampered[2].SignedHeader()
	h := sh.Header()
	h.AppHash = make([]byte, types.HashSize)
	tampered[2] = types.NewBlock(types.NewSignedHeader(h, sh.Signature(), sh.Signer()), tampered[2].Data())
	requireFault(t, authenticate(headersOf(tampered), from), types.ErrLastHeaderHashMismatch)
	requireFault(t, authenticate(tampered, from), types.ErrLastHeaderHashMismatch)

	forgedData := freshBlocks()
	forgedData[1] = types.NewBlock(forgedData[1].SignedHeader(), types.Data{Txs: [][]byte{[]byte("forged")}})
	requireFault(t, authenticate(forgedData, from), types.ErrDataHashMismatch)
	require.NoError(t, authenticate(headersOf(forgedData), from), "the headers alone are genuine")
}
