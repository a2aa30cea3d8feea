package rollkit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmtypes "github.com/cometbft/cometbft/types"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/headersync/headersync/types"
)

func testSigner(seed byte) *Signer {
	s := sha256.Sum256([]byte{seed})
	return NewSigner(ed25519.NewKeyFromSeed(s[:]))
}

// chain builds n headers from height 1, one second apart, ending in the past.
func chain(t testing.TB, s *Signer, n int) []*SignedHeader {
	t.Helper()
	blocks, err := s.Chain("test-chain", n, time.Now().Add(-time.Duration(n+1)*time.Second), time.Second,
		func(int) types.Data { return types.Data{Txs: [][]byte{[]byte("tx")}} })
	require.NoError(t, err)
	out := make([]*SignedHeader, n)
	for i, b := range blocks {
		out[i] = b.SignedHeader()
	}
	return out
}

// resign returns sh with edit applied to its fields, signed again by s (the
// header is valid on its own, but no longer the one the chain links to).
func resign(t *testing.T, s *Signer, sh *SignedHeader, edit func(*types.Header)) *SignedHeader {
	t.Helper()
	h := sh.Header()
	edit(&h)
	out, err := s.Sign(h)
	require.NoError(t, err)
	return out
}

// rebuild returns sh with its parts replaced, unsigned again.
func rebuild(t *testing.T, sh *SignedHeader, edit func(h *types.Header, sig *[]byte, vals **cmtypes.ValidatorSet)) *SignedHeader {
	t.Helper()
	h, sig, vals := sh.Header(), append([]byte(nil), sh.signature...), sh.validators.Copy()
	edit(&h, &sig, &vals)
	out, err := newSignedHeader(h, sig, vals)
	require.NoError(t, err)
	return out
}

func TestSignedChainValidatesAndLinks(t *testing.T) {
	s := testSigner(1)
	hs := chain(t, s, 5)
	for i, sh := range hs {
		require.NoError(t, sh.Validate())
		require.Equal(t, []byte(s.PublicKey()), []byte(sh.Signer()))
		if i > 0 {
			require.NoError(t, hs[i-1].Verify(sh))
			require.NoError(t, hs[0].Verify(sh), "non-adjacent: proposer and time only")
		}
		enc, err := sh.MarshalBinary()
		require.NoError(t, err)
		var back SignedHeader
		require.NoError(t, back.UnmarshalBinary(enc))
		require.Equal(t, []byte(sh.Hash()), []byte(back.Hash()))
		require.Equal(t, sh.Header(), back.Header())
	}
}

func TestValidateRefuses(t *testing.T) {
	s, other := testSigner(1), testSigner(2)
	sh := chain(t, s, 2)[1]
	twoVals := cmtypes.NewValidatorSet([]*cmtypes.Validator{s.vals.Validators[0].Copy(), other.vals.Validators[0].Copy()})
	for _, c := range []struct {
		name string
		sh   *SignedHeader
		want error
	}{
		{"a field changed after signing", rebuild(t, sh, func(h *types.Header, _ *[]byte, _ **cmtypes.ValidatorSet) { h.AppHash = []byte("x") }), types.ErrInvalidSignature},
		{"signature flipped", rebuild(t, sh, func(_ *types.Header, sig *[]byte, _ **cmtypes.ValidatorSet) { (*sig)[0] ^= 1 }), types.ErrInvalidSignature},
		{"signature short", rebuild(t, sh, func(_ *types.Header, sig *[]byte, _ **cmtypes.ValidatorSet) { *sig = (*sig)[:10] }), types.ErrInvalidSignature},
		{"no signature", rebuild(t, sh, func(_ *types.Header, sig *[]byte, _ **cmtypes.ValidatorSet) { *sig = nil }), types.ErrMissingSignature},
		{"signed by another key, its own set", resignWithSet(t, other, sh), nil},
		{"another key's set, our proposer", rebuild(t, sh, func(_ *types.Header, _ *[]byte, v **cmtypes.ValidatorSet) { *v = other.vals.Copy() }), ErrValidatorSet},
		{"no validator set", rebuild(t, sh, func(_ *types.Header, _ *[]byte, v **cmtypes.ValidatorSet) { *v = nil }), ErrValidatorSet},
		{"two validators", rebuild(t, sh, func(_ *types.Header, _ *[]byte, v **cmtypes.ValidatorSet) { *v = twoVals }), ErrValidatorSet},
		{"no validator hash (CometBFT hashes it to nothing)", rebuild(t, sh, func(h *types.Header, _ *[]byte, _ **cmtypes.ValidatorSet) { h.ValidatorHash = nil }), types.ErrInvalidHashLength},
		{"validator hash of another set", rebuild(t, sh, func(h *types.Header, _ *[]byte, _ **cmtypes.ValidatorSet) { h.ValidatorHash = other.vals.Hash() }), ErrValidatorHashMismatch},
		{"proposer address short", rebuild(t, sh, func(h *types.Header, _ *[]byte, _ **cmtypes.ValidatorSet) { h.ProposerAddress = h.ProposerAddress[:19] }), types.ErrInvalidProposer},
		{"height 0", rebuild(t, sh, func(h *types.Header, _ *[]byte, _ **cmtypes.ValidatorSet) { h.Height = 0 }), types.ErrInvalidHeight},
		{"no time", rebuild(t, sh, func(h *types.Header, _ *[]byte, _ **cmtypes.ValidatorSet) { h.Time = time.Time{} }), types.ErrInvalidTime},
		{"chain ID too long", rebuild(t, sh, func(h *types.Header, _ *[]byte, _ **cmtypes.ValidatorSet) { h.ChainID = fmt.Sprintf("%051d", 0) }), types.ErrInvalidChainID},
		{"data hash short", rebuild(t, sh, func(h *types.Header, _ *[]byte, _ **cmtypes.ValidatorSet) { h.DataHash = h.DataHash[:31] }), types.ErrInvalidHashLength},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.sh.Validate()
			if c.want == nil {
				// Valid on its own: the sync service's rule, that the
				// Signer is the genesis key, refuses it.
				require.NoError(t, err)
				require.NotEqual(t, []byte(s.PublicKey()), []byte(c.sh.Signer()))
				return
			}
			require.ErrorIs(t, err, c.want)
		})
	}
}

// resignWithSet signs sh's fields with other, whose own validator set and
// address it carries: a valid header of another sequencer.
func resignWithSet(t *testing.T, other *Signer, sh *SignedHeader) *SignedHeader {
	out, err := other.Sign(sh.Header())
	require.NoError(t, err)
	return out
}

func TestVerifyRefuses(t *testing.T) {
	s, other := testSigner(1), testSigner(2)
	hs := chain(t, s, 3)
	trusted, next := hs[0], hs[1]
	otherHeader, err := other.Sign(Next(trusted, next.Time(), types.Data{}))
	require.NoError(t, err)
	for _, c := range []struct {
		name      string
		untrusted *SignedHeader
		want      error
	}{
		{"another proposer", otherHeader, types.ErrWrongProposer},
		{"last header hash", resign(t, s, next, func(h *types.Header) { h.LastHeaderHash = hs[2].Hash() }), types.ErrLastHeaderHashMismatch},
		{"last commit hash", resign(t, s, next, func(h *types.Header) { h.LastCommitHash = make([]byte, 32) }), types.ErrLastCommitHashMismatch},
		{"older than trusted", resign(t, s, next, func(h *types.Header) { h.Time = trusted.Time().Add(-time.Second) }), header.ErrUnorderedTime},
		{"from the future", resign(t, s, hs[2], func(h *types.Header) { h.Time = time.Now().Add(time.Minute) }), header.ErrFromFuture},
		{"not higher", trusted, header.ErrKnownHeader},
		{"another chain", resign(t, s, next, func(h *types.Header) { h.ChainID = "other" }), types.ErrChainIDMismatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := trusted.Verify(c.untrusted)
			var verr *header.VerifyError
			require.ErrorAs(t, err, &verr)
			require.ErrorIs(t, err, c.want)
		})
	}
}

func TestValidateChainAndLinkBelow(t *testing.T) {
	s, other := testSigner(1), testSigner(2)
	fresh := func() []*SignedHeader { return chain(t, s, 6) }

	require.NoError(t, ValidateChain(fresh()))
	hs := fresh()
	require.NoError(t, LinkBelow(hs[:5], hs[5]))
	for _, sh := range hs {
		require.True(t, sh.valid.Load())
	}

	// A header in the middle replaced by one its successor does not link to.
	hs = fresh()
	hs[2] = resign(t, s, hs[2], func(h *types.Header) { h.AppHash = []byte("forged") })
	require.ErrorIs(t, ValidateChain(hs), types.ErrLastHeaderHashMismatch)
	require.ErrorIs(t, LinkBelow(hs[:5], hs[5]), types.ErrLastHeaderHashMismatch)
	for _, sh := range hs[:5] {
		require.False(t, sh.valid.Load(), "nothing below the top is remembered valid after a failure")
	}

	// A bad signature below the top is caught by the commit hash of the
	// header above.
	hs = fresh()
	hs[3] = rebuild(t, hs[3], func(_ *types.Header, sig *[]byte, _ **cmtypes.ValidatorSet) { (*sig)[5] ^= 1 })
	require.ErrorIs(t, ValidateChain(hs), types.ErrLastCommitHashMismatch)

	// The top signed by another key.
	hs = fresh()
	hs[5] = resignWithSet(t, other, hs[5])
	require.ErrorIs(t, ValidateChain(hs), types.ErrSignerMismatch)

	// The top's own signature is checked.
	hs = fresh()
	hs[5] = rebuild(t, hs[5], func(_ *types.Header, sig *[]byte, _ **cmtypes.ValidatorSet) { (*sig)[0] ^= 1 })
	require.ErrorIs(t, ValidateChain(hs), types.ErrInvalidSignature)
	require.ErrorIs(t, LinkBelow(fresh()[:5], hs[5]), types.ErrInvalidSignature)

	// Not consecutive.
	hs = fresh()
	require.ErrorIs(t, ValidateChain([]*SignedHeader{hs[0], hs[2]}), types.ErrNotConsecutive)
}

func TestBlocks(t *testing.T) {
	s := testSigner(1)
	data := types.Data{Txs: [][]byte{[]byte("a"), {}, []byte("ccc")}}
	sh, err := s.Sign(First("test-chain", 1, time.Now().Add(-time.Minute), data))
	require.NoError(t, err)
	b := NewBlock(sh, data)
	require.NoError(t, b.Validate())
	enc, err := b.MarshalBinary()
	require.NoError(t, err)
	var back Block
	require.NoError(t, back.UnmarshalBinary(enc))
	require.Equal(t, data, back.Data())
	require.NoError(t, back.Validate())

	wrong := NewBlock(sh, types.Data{Txs: [][]byte{[]byte("a")}})
	require.ErrorIs(t, wrong.Validate(), types.ErrDataHashMismatch)
	require.ErrorIs(t, ValidateBlocks([]*Block{wrong}), types.ErrDataHashMismatch)
}

func TestUnmarshalRefuses(t *testing.T) {
	s := testSigner(1)
	enc, err := chain(t, s, 1)[0].MarshalBinary()
	require.NoError(t, err)
	dup := protowire.AppendTag(append([]byte(nil), enc...), fSignedHeaderSignature, protowire.BytesType)
	dup = protowire.AppendBytes(dup, make([]byte, 64))
	wrongType := protowire.AppendVarint(protowire.AppendTag(nil, fSignedHeaderHeader, protowire.VarintType), 1)
	for name, c := range map[string]struct {
		data []byte
		want error
	}{
		"truncated":         {enc[:len(enc)-3], types.ErrDecode},
		"a field twice":     {dup, types.ErrDecode},
		"wrong wire type":   {wrongType, types.ErrDecode},
		"no header":         {nil, types.ErrMissingHeader},
		"over the size cap": {make([]byte, MaxSignedHeaderSize+1), types.ErrTooLarge},
	} {
		var sh SignedHeader
		require.ErrorIs(t, sh.UnmarshalBinary(c.data), c.want, name)
	}
	// An unknown field is skipped, as protobuf does.
	extra := protowire.AppendBytes(protowire.AppendTag(append([]byte(nil), enc...), 15, protowire.BytesType), []byte("x"))
	var sh SignedHeader
	require.NoError(t, sh.UnmarshalBinary(extra))
	require.NoError(t, sh.Validate())
}

func TestGenesisRefuses(t *testing.T) {
	s := testSigner(1)
	doc := func(edit func(*cmtypes.GenesisDoc)) []byte {
		d := cmtypes.GenesisDoc{ChainID: "rk", InitialHeight: 1, GenesisTime: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
			Validators: []cmtypes.GenesisValidator{{PubKey: cmted25519.PubKey(s.PublicKey()), Power: 1, Name: "seq"}}}
		edit(&d)
		data, err := cmtjsonMarshal(&d)
		require.NoError(t, err)
		return data
	}
	g, err := ParseGenesis(doc(func(*cmtypes.GenesisDoc) {}))
	require.NoError(t, err)
	require.Equal(t, []byte(s.PublicKey()), []byte(g.SequencerPubKey))

	_, err = ParseGenesis(doc(func(d *cmtypes.GenesisDoc) { d.Validators = append(d.Validators, d.Validators[0]) }))
	require.ErrorIs(t, err, ErrNotRollkitGenesis)
	_, err = ParseGenesis(doc(func(d *cmtypes.GenesisDoc) { d.Validators = nil }))
	require.ErrorIs(t, err, ErrNotRollkitGenesis)
	_, err = ParseGenesis(doc(func(d *cmtypes.GenesisDoc) { d.ChainID = fmt.Sprintf("%051d", 0) }))
	require.ErrorIs(t, err, types.ErrInvalidGenesis)
	_, err = ParseGenesis([]byte(`{"chain_id": "x", "sequencer_pubkey": "00"}`))
	require.ErrorIs(t, err, ErrNotRollkitGenesis)
}

func FuzzUnmarshalSignedHeader(f *testing.F) {
	for _, sh := range chain(f, testSigner(1), 2) {
		enc, _ := sh.MarshalBinary()
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var sh SignedHeader
		if sh.UnmarshalBinary(data) != nil {
			return
		}
		_ = sh.Validate()
		enc, err := sh.MarshalBinary()
		require.NoError(t, err)
		var again SignedHeader
		require.NoError(t, again.UnmarshalBinary(enc))
		enc2, _ := again.MarshalBinary()
		require.Equal(t, enc, enc2, "the encoding is stable")
	})
}

func BenchmarkValidate(b *testing.B) {
	hs := chain(b, testSigner(1), 1)
	enc, _ := hs[0].MarshalBinary()
	b.ReportAllocs()
	for b.Loop() {
		var sh SignedHeader
		if err := sh.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
		if err := sh.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateChain is the linked verification of a 256-header chunk,
// decoding included; ns/header compares with BenchmarkValidate's ns/op.
func BenchmarkValidateChain(b *testing.B) {
	const n = 256
	encs := make([][]byte, n)
	for i, sh := range chain(b, testSigner(1), n) {
		encs[i], _ = sh.MarshalBinary()
	}
	b.ReportAllocs()
	for b.Loop() {
		hs := make([]*SignedHeader, n)
		for i, enc := range encs {
			hs[i] = new(SignedHeader)
			if err := hs[i].UnmarshalBinary(enc); err != nil {
				b.Fatal(err)
			}
		}
		if err := ValidateChain(hs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/header")
}

func cmtjsonMarshal(d *cmtypes.GenesisDoc) ([]byte, error) { return cmtjson.Marshal(d) }
