package types_test

import (
	"errors"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/types"
)

func TestVerify(t *testing.T) {
	g := newGen(t)
	hs, err := g.Headers(4)
	require.NoError(t, err)
	trusted, next := hs[1], hs[2]
	intruder, err := types.GenerateSigner()
	require.NoError(t, err)

	cases := []struct {
		name      string
		untrusted *types.SignedHeader
		want      error
	}{
		{"adjacent", next, nil},
		{"non-adjacent", hs[3], nil},
		{"different proposer", resign(t, next, intruder, func(h *types.Header) { h.ProposerAddress = intruder.Address() }), types.ErrWrongProposer},
		{"broken last header hash link", resign(t, next, g.Signer, func(h *types.Header) { h.LastHeaderHash = hs[0].Hash() }), types.ErrLastHeaderHashMismatch},
		{"missing last header hash", resign(t, next, g.Signer, func(h *types.Header) { h.LastHeaderHash = nil }), types.ErrLastHeaderHashMismatch},
		{"broken last commit hash link", resign(t, next, g.Signer, func(h *types.Header) { h.LastCommitHash = types.CommitHash(hs[0].Signature()) }), types.ErrLastCommitHashMismatch},
		{"other chain", resign(t, next, g.Signer, func(h *types.Header) { h.ChainID = "other" }), types.ErrChainIDMismatch},
		{"same height", hs[1], header.ErrKnownHeader},
		{"lower height", hs[0], header.ErrKnownHeader},
		{"older time", resign(t, next, g.Signer, func(h *types.Header) { h.Time = trusted.Time().Add(-time.Second) }), header.ErrUnorderedTime},
		{"from the future", resign(t, next, g.Signer, func(h *types.Header) { h.Time = time.Now().Add(time.Minute) }), header.ErrFromFuture},
		{"invalid signature", resign(t, next, nil, func(h *types.Header) { h.AppHash = make([]byte, 32) }), types.ErrInvalidSignature},
		{"nil", nil, header.ErrZeroHeader},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := trusted.Verify(tc.untrusted)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			var verr *header.VerifyError
			require.True(t, errors.As(err, &verr), "Verify must return *header.VerifyError, got %T", err)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

// go-header's own Verify wraps ours; non-adjacent failures become soft, and
// its generic checks agree with ours.
func TestVerifyThroughGoHeader(t *testing.T) {
	g := newGen(t)
	hs, err := g.Headers(3)
	require.NoError(t, err)
	intruder, err := types.GenerateSigner()
	require.NoError(t, err)

	require.NoError(t, header.Verify(hs[0], hs[1]))
	require.NoError(t, header.Verify(hs[0], hs[2]))

	forged := resign(t, hs[2], intruder, func(h *types.Header) { h.ProposerAddress = intruder.Address() })
	err = header.Verify(hs[0], forged)
	var verr *header.VerifyError
	require.True(t, errors.As(err, &verr))
	require.True(t, verr.SoftFailure, "a non-adjacent failure is soft in go-header")
	require.ErrorIs(t, err, types.ErrWrongProposer)

	forgedAdjacent := resign(t, hs[1], intruder, func(h *types.Header) { h.ProposerAddress = intruder.Address() })
	err = header.Verify(hs[0], forgedAdjacent)
	require.True(t, errors.As(err, &verr))
	require.False(t, verr.SoftFailure, "an adjacent failure is definitive")
}

func TestBlockVerify(t *testing.T) {
	g := newGen(t)
	bs, err := g.Blocks(3)
	require.NoError(t, err)
	require.NoError(t, bs[0].Verify(bs[1]))
	require.NoError(t, bs[0].Verify(bs[2]))

	swapped := types.NewBlock(bs[1].SignedHeader(), bs[2].Data())
	err = bs[0].Verify(swapped)
	var verr *header.VerifyError
	require.True(t, errors.As(err, &verr))
	require.ErrorIs(t, err, types.ErrDataHashMismatch)
}
