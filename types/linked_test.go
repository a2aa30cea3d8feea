package types_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/types"
)

// randomChain signs n headers from the genesis height with random content,
// times and gaps, as an honest sequencer would.
func randomChain(t *testing.T, rng *rand.Rand, s *types.Signer, n int) []*types.SignedHeader {
	t.Helper()
	randHash := func() []byte {
		if rng.IntN(3) == 0 {
			return nil // optional hashes are sometimes empty
		}
		b := make([]byte, types.HashSize)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	now := time.Unix(1_700_000_000, 0).Add(time.Duration(rng.Int64N(int64(time.Hour))))
	var out []*types.SignedHeader
	for i := 0; i < n; i++ {
		data := types.Data{Txs: [][]byte{randHash(), randHash()}}
		var h types.Header
		if i == 0 {
			g := &types.Genesis{ChainID: "gm", InitialHeight: 1 + rng.Uint64N(1000), GenesisTime: now, SequencerPubKey: s.PublicKey()}
			h = types.FirstHeader(g, now, &data)
		} else {
			h = types.NextHeader(out[i-1], now, &data)
		}
		h.Version = types.Version{Block: 1, App: rng.Uint64N(4)}
		h.ConsensusHash, h.AppHash, h.LastResultsHash, h.ValidatorHash = randHash(), randHash(), randHash(), randHash()
		sh, err := s.Sign(h)
		require.NoError(t, err)
		out = append(out, sh)
		now = now.Add(time.Duration(rng.Int64N(int64(2 * time.Second))))
	}
	return out
}

// fresh returns copies of hs that remember nothing, as decoded from a peer.
func fresh(hs []*types.SignedHeader) []*types.SignedHeader {
	out := make([]*types.SignedHeader, len(hs))
	for i, h := range hs {
		out[i] = types.NewSignedHeader(h.Header(), h.Signature(), h.Signer())
	}
	return out
}

// perHeader is the check linked validation replaces: every header's own
// signature, and each the next height after the one before, verified
// against it.
func perHeader(hs []*types.SignedHeader) error {
	for i, h := range hs {
		if err := h.Validate(); err != nil {
			return err
		}
		if i > 0 {
			if h.Height() != hs[i-1].Height()+1 {
				return fmt.Errorf("header %d after %d", h.Height(), hs[i-1].Height())
			}
			if err := hs[i-1].Verify(h); err != nil {
				return err
			}
		}
	}
	return nil
}

func withSig(h *types.SignedHeader, sig []byte) *types.SignedHeader {
	return types.NewSignedHeader(h.Header(), sig, h.Signer())
}

// TestValidateChain: one signature check authenticates a run of headers,
// and any break in it is found.
func TestValidateChain(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s, err := types.GenerateSigner()
	require.NoError(t, err)
	other, err := types.GenerateSigner()
	require.NoError(t, err)
	hs := randomChain(t, rng, s, 6)

	// replace returns a fresh copy of hs with header i replaced.
	replace := func(i int, h *types.SignedHeader) []*types.SignedHeader {
		out := fresh(hs)
		out[i] = h
		return out
	}
	flip := func(b []byte) []byte {
		out := bytes.Clone(b)
		out[len(out)/2] ^= 1
		return out
	}
	keep := func(h *types.SignedHeader, mutate func(*types.Header)) *types.SignedHeader {
		return resign(t, h, nil, mutate) // the old signature on a changed header
	}
	cases := []struct {
		name  string
		chain []*types.SignedHeader
		want  error
	}{
		{"honest", fresh(hs), nil},
		{"one header", fresh(hs[2:3]), nil},
		{"empty", nil, nil},
		{"top signature invalid", replace(5, withSig(hs[5], flip(hs[5].Signature()))), types.ErrInvalidSignature},
		{"top header changed", replace(5, keep(hs[5], func(h *types.Header) { h.AppHash = make([]byte, 32) })), types.ErrInvalidSignature},
		{"lower signature changed", replace(2, withSig(hs[2], flip(hs[2].Signature()))), types.ErrLastCommitHashMismatch},
		{"lower data hash changed", replace(3, keep(hs[3], func(h *types.Header) { h.DataHash = flip(h.DataHash) })), types.ErrLastHeaderHashMismatch},
		{"lower time changed", replace(0, keep(hs[0], func(h *types.Header) { h.Time = h.Time.Add(time.Nanosecond) })), types.ErrLastHeaderHashMismatch},
		{"lower header re-signed by another key", replace(1, resign(t, hs[1], other, func(h *types.Header) { h.ProposerAddress = other.Address() })), types.ErrSignerMismatch},
		{"top re-signed by another key", replace(5, resign(t, hs[5], other, func(h *types.Header) { h.ProposerAddress = other.Address() })), types.ErrSignerMismatch},
		{"a header missing", append(fresh(hs[:2]), fresh(hs[3:])...), types.ErrNotConsecutive},
		{"out of order", []*types.SignedHeader{hs[1], hs[0]}, types.ErrNotConsecutive},
		{"lower header invalid on its face", replace(1, keep(hs[1], func(h *types.Header) { h.DataHash = nil })), types.ErrInvalidHashLength},
		{"nil header", replace(4, nil), types.ErrMissingHeader},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := types.ValidateChain(tc.chain)
			if tc.want == nil {
				require.NoError(t, err)
				require.NoError(t, perHeader(tc.chain))
				return
			}
			require.ErrorIs(t, err, tc.want)
			require.Error(t, perHeader(tc.chain), "per-header checks accept what linked validation refused")
		})
	}
}

// A failed chain leaves nothing marked valid; a passing one marks every
// header. This includes the one difference from checking each header: a
// header whose own signature does not verify, if the sequencer signed a
// successor committing to it.
func TestValidateChainMarks(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s, err := types.GenerateSigner()
	require.NoError(t, err)
	hs := randomChain(t, rng, s, 2)
	bad := hs[0].Signature()
	bad = append(bytes.Clone(bad[:len(bad)-1]), bad[len(bad)-1]^1)
	lower := withSig(hs[0], bad)

	// Linked to nothing: refused, and lower is still checked on its own.
	unlinked := withSig(hs[1], hs[1].Signature())
	require.ErrorIs(t, types.ValidateChain([]*types.SignedHeader{lower, unlinked}), types.ErrLastCommitHashMismatch)
	require.ErrorIs(t, lower.Validate(), types.ErrInvalidSignature)

	// The sequencer commits to the bad signature: the chain passes, and
	// lower is remembered as valid.
	next := types.NextHeader(lower, hs[1].Time(), &types.Data{})
	top, err := s.Sign(next)
	require.NoError(t, err)
	require.NoError(t, types.ValidateChain([]*types.SignedHeader{lower, top}))
	require.NoError(t, lower.Validate())
	require.ErrorIs(t, withSig(lower, lower.Signature()).Validate(), types.ErrInvalidSignature, "a fresh copy is checked on its own")
}

func TestValidateBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	s, err := types.GenerateSigner()
	require.NoError(t, err)
	var blocks []*types.Block
	var prev *types.SignedHeader
	for i := 0; i < 4; i++ {
		data := types.Data{Txs: [][]byte{{byte(rng.Uint32()), byte(i)}}}
		var h types.Header
		if prev == nil {
			h = types.FirstHeader(&types.Genesis{ChainID: "gm", InitialHeight: 1}, time.Unix(1_700_000_000, 0), &data)
		} else {
			h = types.NextHeader(prev, prev.Time().Add(time.Second), &data)
		}
		prev, err = s.Sign(h)
		require.NoError(t, err)
		blocks = append(blocks, types.NewBlock(withSig(prev, prev.Signature()), data))
	}
	require.NoError(t, types.ValidateBlocks(blocks))
	for _, b := range blocks {
		require.NoError(t, b.Validate())
	}

	tampered := append([]*types.Block(nil), blocks...)
	tampered[1] = types.NewBlock(withSig(blocks[1].SignedHeader(), blocks[1].SignedHeader().Signature()), types.Data{Txs: [][]byte{[]byte("forged")}})
	require.ErrorIs(t, types.ValidateBlocks(tampered), types.ErrDataHashMismatch)
	require.ErrorIs(t, tampered[1].Validate(), types.ErrDataHashMismatch)
}

// TestValidateChainProperty: over random honest chains, linked validation
// accepts exactly what per-header validation plus adjacency accepts, on
// every run of consecutive headers; and it refuses every chain in which one
// byte of one header's encoding, signature or signer is changed.
func TestValidateChainProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	chains, maxLen := 8, 10
	if testing.Short() {
		chains = 2
	}
	s, err := types.GenerateSigner()
	require.NoError(t, err)
	var mutations, undecodable int
	for c := 0; c < chains; c++ {
		hs := randomChain(t, rng, s, 1+rng.IntN(maxLen))
		for i := 0; i < 5; i++ {
			lo := rng.IntN(len(hs))
			hi := lo + 1 + rng.IntN(len(hs)-lo)
			run := fresh(hs[lo:hi])
			require.NoError(t, types.ValidateChain(run))
			require.NoError(t, perHeader(fresh(hs[lo:hi])))
		}

		for j, h := range hs {
			// mutated returns hs with header j replaced, fresh where it
			// matters: the unchanged headers are the same values, so
			// their remembered validity is theirs to keep.
			mutated := func(m *types.SignedHeader) []*types.SignedHeader {
				out := append([]*types.SignedHeader(nil), hs...)
				out[j] = m
				return out
			}
			try := func(what string, m *types.SignedHeader) {
				t.Helper()
				mutations++
				chain := mutated(m)
				require.Error(t, types.ValidateChain(chain), "chain %d header %d: %s accepted", c, j, what)
				require.Error(t, perHeader(mutated(withSig(m, m.Signature()))), "chain %d header %d: %s accepted per header", c, j, what)
			}
			hdr := h.Header()
			enc, err := hdr.MarshalBinary()
			require.NoError(t, err)
			for i := range enc {
				changed := bytes.Clone(enc)
				changed[i] ^= byte(1 + rng.IntN(255))
				var mh types.Header
				if err := mh.UnmarshalBinary(changed); err != nil {
					undecodable++
					continue // never reaches validation
				}
				if again, _ := mh.MarshalBinary(); bytes.Equal(again, enc) {
					continue // the same header, differently encoded
				}
				try("header byte", types.NewSignedHeader(mh, h.Signature(), h.Signer()))
			}
			for i := range h.Signature() {
				sig := bytes.Clone(h.Signature())
				sig[i] ^= byte(1 + rng.IntN(255))
				try("signature byte", withSig(h, sig))
			}
			for i := range h.Signer() {
				signer := bytes.Clone(h.Signer())
				signer[i] ^= byte(1 + rng.IntN(255))
				try("signer byte", types.NewSignedHeader(hdr, h.Signature(), signer))
			}
		}
	}
	t.Logf("%d single-byte changes refused (%d more did not decode)", mutations, undecodable)
}

// LinkBelow accepts the headers below a trusted one exactly when each is
// the header the one above it commits to, and checks no signature of its
// own: a chain below a valid header passes, and one byte changed in any
// header, signature or signer below it is refused.
func TestLinkBelow(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	s, err := types.GenerateSigner()
	require.NoError(t, err)
	hs := randomChain(t, rng, s, 8)
	top := hs[len(hs)-1]
	require.NoError(t, types.LinkBelow(fresh(hs[:len(hs)-1]), fresh([]*types.SignedHeader{top})[0]))
	require.NoError(t, types.LinkBelow(nil, top), "nothing below is nothing to check")

	// The header above is checked, signature included, unless it is
	// remembered as valid.
	badTop := withSig(top, bytes.Repeat([]byte{1}, len(top.Signature())))
	require.ErrorIs(t, types.LinkBelow(fresh(hs[:len(hs)-1]), badTop), types.ErrInvalidSignature)

	for j := 0; j < len(hs)-1; j++ {
		try := func(what string, m *types.SignedHeader) {
			t.Helper()
			chain := fresh(hs[:len(hs)-1])
			chain[j] = m
			require.Error(t, types.LinkBelow(chain, top), "header %d: %s accepted", j, what)
			require.Error(t, m.Validate(), "header %d: %s remembered as valid", j, what)
		}
		h := hs[j]
		for i := range h.Signature() {
			sig := bytes.Clone(h.Signature())
			sig[i] ^= byte(1 + rng.IntN(255))
			try("signature byte", withSig(h, sig))
		}
		for i := range h.Signer() {
			signer := bytes.Clone(h.Signer())
			signer[i] ^= byte(1 + rng.IntN(255))
			try("signer byte", types.NewSignedHeader(h.Header(), h.Signature(), signer))
		}
		hdr := h.Header()
		hdr.AppHash = bytes.Repeat([]byte{byte(j + 1)}, types.HashSize)
		try("header field", types.NewSignedHeader(hdr, h.Signature(), h.Signer()))
	}
	// Out of order, or a gap: refused.
	require.ErrorIs(t, types.LinkBelow(fresh([]*types.SignedHeader{hs[1], hs[0]}), hs[2]), types.ErrNotConsecutive)
	require.ErrorIs(t, types.LinkBelow(fresh(hs[:2]), hs[3]), types.ErrNotConsecutive)
}
