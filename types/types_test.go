package types_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/internal/chaingen"
	"github.com/headersync/headersync/types"
)

func newGen(t testing.TB) *chaingen.Generator {
	t.Helper()
	g, err := chaingen.New("gm", 16, chaingen.Options{})
	require.NoError(t, err)
	return g
}

func TestSignedHeaderRoundTrip(t *testing.T) {
	orig := goldenBlock(t).SignedHeader()
	enc, err := orig.MarshalBinary()
	require.NoError(t, err)

	var dec types.SignedHeader
	require.NoError(t, dec.UnmarshalBinary(enc))
	require.Equal(t, orig.Header(), dec.Header())
	require.Equal(t, orig.Signature(), dec.Signature())
	require.Equal(t, orig.Signer(), dec.Signer())
	require.Equal(t, orig.Hash(), dec.Hash())
	require.NoError(t, dec.Validate())

	again, err := dec.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, enc, again, "re-encoding a decoded header must give the same bytes")
}

func TestBlockRoundTrip(t *testing.T) {
	g := newGen(t)
	empty, err := g.NextBlock()
	require.NoError(t, err)
	full, err := g.NextBlock([]byte("a"), []byte{}, bytes.Repeat([]byte{7}, 1000))
	require.NoError(t, err)

	for name, orig := range map[string]*types.Block{"empty": empty, "with txs": full, "golden": goldenBlock(t)} {
		t.Run(name, func(t *testing.T) {
			enc, err := orig.MarshalBinary()
			require.NoError(t, err)
			var dec types.Block
			require.NoError(t, dec.UnmarshalBinary(enc))
			require.NoError(t, dec.Validate())
			require.Equal(t, orig.Hash(), dec.Hash())
			require.Equal(t, orig.SignedHeader().Header(), dec.SignedHeader().Header())
			require.Equal(t, len(orig.Data().Txs), len(dec.Data().Txs))
			for i := range orig.Data().Txs {
				require.True(t, bytes.Equal(orig.Data().Txs[i], dec.Data().Txs[i]), "tx %d", i)
			}
			again, err := dec.MarshalBinary()
			require.NoError(t, err)
			require.Equal(t, enc, again)
		})
	}
}

func TestHeaderAndDataRoundTrip(t *testing.T) {
	h := goldenBlock(t).SignedHeader().Header()
	enc, err := h.MarshalBinary()
	require.NoError(t, err)
	var decHeader types.Header
	require.NoError(t, decHeader.UnmarshalBinary(enc))
	require.Equal(t, h, decHeader)
	// A Header's encoding is what its SignedHeader hashes.
	require.Equal(t, goldenBlock(t).Hash(), h.Hash())
	require.Equal(t, h.Hash(), decHeader.Hash())

	d := types.Data{Txs: [][]byte{[]byte("x"), {}, bytes.Repeat([]byte{9}, 300)}}
	dataEnc, err := d.MarshalBinary()
	require.NoError(t, err)
	var decData types.Data
	require.NoError(t, decData.UnmarshalBinary(dataEnc))
	require.Equal(t, d.Hash(), decData.Hash())
	require.Len(t, decData.Txs, 3)
	require.ErrorIs(t, decData.UnmarshalBinary([]byte{0x0a, 0x09}), types.ErrDecode)

	require.NotEqual(t, d.Hash(), (&types.Data{}).Hash(), "data hash must depend on the txs")
	require.Equal(t, (&types.Data{}).Hash(), (&types.Data{Txs: [][]byte{}}).Hash(), "nil and empty tx lists are the same data")
}

func TestHashIsCachedAndAccessorsDoNotLeakMutation(t *testing.T) {
	sh := goldenBlock(t).SignedHeader()
	h1 := sh.Hash()
	require.Equal(t, &h1[0], &sh.Hash()[0], "Hash must return the cached value, not recompute it")

	// Header() is a deep copy: changing it changes neither the value nor its hash.
	hdr := sh.Header()
	hdr.Height = 99
	hdr.AppHash[0] ^= 0xff
	require.Equal(t, uint64(2), sh.Height())
	require.Equal(t, goldenHeaderHash, hexString(sh.Hash()))
	require.NoError(t, sh.Validate())
}

func TestUnmarshalResetsState(t *testing.T) {
	g := newGen(t)
	hs, err := g.Headers(2)
	require.NoError(t, err)
	enc1, err := hs[1].MarshalBinary()
	require.NoError(t, err)

	// Reusing a validated value for other bytes must forget the old hash and
	// the remembered validation.
	sh := hs[0]
	require.NoError(t, sh.Validate())
	require.NoError(t, sh.UnmarshalBinary(enc1))
	require.Equal(t, hs[1].Hash(), sh.Hash())

	bad := hs[0].Header()
	bad.AppHash = bytes.Repeat([]byte{1}, 32)
	forged := types.NewSignedHeader(bad, hs[0].Signature(), hs[0].Signer())
	enc2, err := forged.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, sh.UnmarshalBinary(enc2))
	require.ErrorIs(t, sh.Validate(), types.ErrInvalidSignature)
}

func TestUnmarshalRejectsGarbageAndOversize(t *testing.T) {
	var sh types.SignedHeader
	require.ErrorIs(t, sh.UnmarshalBinary(make([]byte, types.MaxSignedHeaderSize+1)), types.ErrTooLarge)
	require.ErrorIs(t, sh.UnmarshalBinary([]byte{0xff, 0xff, 0xff}), types.ErrDecode)
	require.ErrorIs(t, sh.UnmarshalBinary(nil), types.ErrMissingHeader)
	require.True(t, sh.IsZero())

	var b types.Block
	require.ErrorIs(t, b.UnmarshalBinary(make([]byte, types.MaxBlockSize+1)), types.ErrTooLarge)
	require.ErrorIs(t, b.UnmarshalBinary([]byte{0x0a, 0x05, 0x01}), types.ErrDecode)
	require.ErrorIs(t, b.UnmarshalBinary([]byte{}), types.ErrMissingHeader)
	require.True(t, b.IsZero())

	var nilHeader *types.SignedHeader
	require.True(t, nilHeader.IsZero())
	_, err := nilHeader.MarshalBinary()
	require.Error(t, err)
}

func TestSignerFillsProposerAndRejectsForeignOne(t *testing.T) {
	g := newGen(t)
	other, err := types.GenerateSigner()
	require.NoError(t, err)
	data := types.Data{}

	h := types.FirstHeader(g.Genesis, time.Now(), &data)
	sh, err := g.Signer.Sign(h)
	require.NoError(t, err)
	require.Equal(t, g.Signer.Address(), sh.ProposerAddress())
	require.Equal(t, g.Genesis.SequencerAddress(), sh.ProposerAddress())

	h.ProposerAddress = other.Address()
	_, err = g.Signer.Sign(h)
	require.ErrorIs(t, err, types.ErrProposerMismatch)

	h.ProposerAddress = nil
	h.Height = 0
	_, err = g.Signer.Sign(h)
	require.ErrorIs(t, err, types.ErrInvalidHeight, "a signer must not sign a header that cannot validate")
}

func TestNextHeaderLinksToPrevious(t *testing.T) {
	g := newGen(t)
	hs, err := g.Headers(2)
	require.NoError(t, err)
	require.Equal(t, hs[0].Height()+1, hs[1].Height())
	require.Equal(t, hs[0].Hash(), hs[1].LastHeader())
	require.Equal(t, types.CommitHash(hs[0].Signature()), hs[1].Header().LastCommitHash)
	require.NoError(t, hs[0].Verify(hs[1]))
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}
