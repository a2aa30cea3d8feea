package types_test

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/types"
)

// resign rebuilds sh with mutate applied to its header, signed by s (or
// keeping the old signature when s is nil).
func resign(t *testing.T, sh *types.SignedHeader, s *types.Signer, mutate func(*types.Header)) *types.SignedHeader {
	t.Helper()
	h := sh.Header()
	mutate(&h)
	if s == nil {
		return types.NewSignedHeader(h, sh.Signature(), sh.Signer())
	}
	out := types.NewSignedHeader(h, nil, s.PublicKey())
	sig := ed25519.Sign(s.PrivateKey(), append([]byte("headersync/signed-header/v1\x00"), out.Hash()...))
	return types.NewSignedHeader(h, sig, s.PublicKey())
}

func TestValidate(t *testing.T) {
	valid := goldenBlock(t).SignedHeader()
	signer := goldenSigner(t)
	other, err := types.GenerateSigner()
	require.NoError(t, err)

	flipBit := func(b []byte) []byte {
		out := bytes.Clone(b)
		out[len(out)/2] ^= 0x01
		return out
	}

	cases := []struct {
		name string
		sh   *types.SignedHeader
		want error
	}{
		{"valid", valid, nil},
		{"missing proposer", resign(t, valid, signer, func(h *types.Header) { h.ProposerAddress = nil }), types.ErrMissingProposer},
		{"short proposer", resign(t, valid, signer, func(h *types.Header) { h.ProposerAddress = h.ProposerAddress[:19] }), types.ErrInvalidProposer},
		{"signer is not the proposer", types.NewSignedHeader(valid.Header(), valid.Signature(), other.PublicKey()), types.ErrProposerMismatch},
		{"proposer is someone else, correctly signed by signer", resign(t, valid, signer, func(h *types.Header) { h.ProposerAddress = other.Address() }), types.ErrProposerMismatch},
		{"flipped signature bit", types.NewSignedHeader(valid.Header(), flipBit(valid.Signature()), valid.Signer()), types.ErrInvalidSignature},
		{"flipped header bit after signing", resign(t, valid, nil, func(h *types.Header) { h.AppHash = flipBit(h.AppHash) }), types.ErrInvalidSignature},
		{"height changed after signing", resign(t, valid, nil, func(h *types.Header) { h.Height++ }), types.ErrInvalidSignature},
		{"missing signature", types.NewSignedHeader(valid.Header(), nil, valid.Signer()), types.ErrMissingSignature},
		{"short signature", types.NewSignedHeader(valid.Header(), valid.Signature()[:63], valid.Signer()), types.ErrInvalidSignature},
		{"missing signer", types.NewSignedHeader(valid.Header(), valid.Signature(), nil), types.ErrMissingSigner},
		{"short signer", types.NewSignedHeader(valid.Header(), valid.Signature(), valid.Signer()[:31]), types.ErrInvalidSigner},
		{"height zero", resign(t, valid, signer, func(h *types.Header) { h.Height = 0 }), types.ErrInvalidHeight},
		{"empty chain ID", resign(t, valid, signer, func(h *types.Header) { h.ChainID = "" }), types.ErrInvalidChainID},
		{"chain ID with a slash", resign(t, valid, signer, func(h *types.Header) { h.ChainID = "a/b" }), types.ErrInvalidChainID},
		{"zero time", resign(t, valid, signer, func(h *types.Header) { h.Time = h.Time.AddDate(-100, 0, 0) }), types.ErrInvalidTime},
		{"missing data hash", resign(t, valid, signer, func(h *types.Header) { h.DataHash = nil }), types.ErrInvalidHashLength},
		{"short last header hash", resign(t, valid, signer, func(h *types.Header) { h.LastHeaderHash = h.LastHeaderHash[:31] }), types.ErrInvalidHashLength},
		{"long app hash", resign(t, valid, signer, func(h *types.Header) { h.AppHash = append(h.AppHash, 0) }), types.ErrInvalidHashLength},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.sh.Validate()
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
}

// Every single-bit corruption of an encoded signed header is either refused
// by the decoder or by Validate: nothing a flipped bit produces is accepted.
func TestValidateCatchesEveryBitFlip(t *testing.T) {
	enc, err := goldenBlock(t).SignedHeader().MarshalBinary()
	require.NoError(t, err)
	for i := 0; i < len(enc)*8; i++ {
		corrupt := bytes.Clone(enc)
		corrupt[i/8] ^= 1 << (i % 8)
		var sh types.SignedHeader
		if err := sh.UnmarshalBinary(corrupt); err != nil {
			continue
		}
		require.Error(t, sh.Validate(), "bit %d flipped was accepted", i)
	}
}

func TestBlockValidate(t *testing.T) {
	b := goldenBlock(t)
	require.NoError(t, b.Validate())

	other := types.NewBlock(b.SignedHeader(), types.Data{Txs: [][]byte{[]byte("hello"), []byte("w0rld")}})
	require.ErrorIs(t, other.Validate(), types.ErrDataHashMismatch)

	dropped := types.NewBlock(b.SignedHeader(), types.Data{Txs: b.Data().Txs[:1]})
	require.ErrorIs(t, dropped.Validate(), types.ErrDataHashMismatch)

	forged := types.NewBlock(types.NewSignedHeader(b.SignedHeader().Header(), nil, b.SignedHeader().Signer()), b.Data())
	require.ErrorIs(t, forged.Validate(), types.ErrMissingSignature)

	var empty types.Block
	require.ErrorIs(t, empty.Validate(), types.ErrMissingHeader)
}

// A remembered success must never hide a later failure: the value cannot
// change, so this checks that a failed Validate is not remembered as success.
func TestValidateRemembersOnlySuccess(t *testing.T) {
	valid := goldenBlock(t).SignedHeader()
	bad := types.NewSignedHeader(valid.Header(), nil, valid.Signer())
	require.Error(t, bad.Validate())
	require.Error(t, bad.Validate())
}
