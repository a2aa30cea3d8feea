package types_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/headersync/headersync/types"
)

// goldenSigner is a fixed key: seed bytes 0x00..0x1f.
func goldenSigner(t testing.TB) *types.Signer {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	s, err := types.NewSigner(ed25519.NewKeyFromSeed(seed))
	require.NoError(t, err)
	return s
}

// goldenBlock is a fixed block at height 2 with every header field set.
func goldenBlock(t testing.TB) *types.Block {
	s := goldenSigner(t)
	fill := func(b byte) []byte {
		out := make([]byte, types.HashSize)
		for i := range out {
			out[i] = b
		}
		return out
	}
	data := types.Data{Txs: [][]byte{[]byte("hello"), []byte("world")}}
	sh, err := s.Sign(types.Header{
		Version:         types.Version{Block: 11, App: 1},
		Height:          2,
		Time:            time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC),
		ChainID:         "gm",
		LastHeaderHash:  fill(0xa1),
		LastCommitHash:  fill(0xa2),
		DataHash:        data.Hash(),
		ConsensusHash:   fill(0xa3),
		AppHash:         fill(0xa4),
		LastResultsHash: fill(0xa5),
		ValidatorHash:   fill(0xa6),
	})
	require.NoError(t, err)
	return types.NewBlock(sh, data)
}

// The golden values pin the wire format, the hash and the signing scheme. If
// one of these fails, the change breaks compatibility with every existing
// chain: change the values only together with a deliberate format version bump.
const (
	goldenPubKey       = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
	goldenDataHash     = "53148984a3896ab4b2d936c6224c54daa586bf0e9250c2947cb909795c6d3ec6"
	goldenHeaderHash   = "411c9359f7efbed1369c04fe19b69968aea2e342f88bc9dc351fdb404e2e5575"
	goldenSignature    = "8f1f2b08bc2522605ec79cd08ce0905badd76d4297ba51e49fc6e0f0ac6e2ba97e4ce0dea32c3dbb9eb72aa2e7d85d7947539b44260c52995e3519429c9fc60a"
	goldenSignedHeader = "0a9a020a04080b100110021886e48480f3969ad3172202676d2a20a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a13220a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a23a2053148984a3896ab4b2d936c6224c54daa586bf0e9250c2947cb909795c6d3ec64220a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a34a20a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a45220a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a55a20a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6621456475aa75463474c0285df5dbf2bcab73da6513512408f1f2b08bc2522605ec79cd08ce0905badd76d4297ba51e49fc6e0f0ac6e2ba97e4ce0dea32c3dbb9eb72aa2e7d85d7947539b44260c52995e3519429c9fc60a1a2003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
)

func TestGoldenVectors(t *testing.T) {
	b := goldenBlock(t)
	sh := b.SignedHeader()
	enc, err := sh.MarshalBinary()
	require.NoError(t, err)
	dh := b.Data()
	got := map[string]string{
		"pubkey":        hex.EncodeToString(sh.Signer()),
		"data hash":     hex.EncodeToString((&dh).Hash()),
		"header hash":   hex.EncodeToString(sh.Hash()),
		"signature":     hex.EncodeToString(sh.Signature()),
		"signed header": hex.EncodeToString(enc),
	}
	want := map[string]string{
		"pubkey":        goldenPubKey,
		"data hash":     goldenDataHash,
		"header hash":   goldenHeaderHash,
		"signature":     goldenSignature,
		"signed header": goldenSignedHeader,
	}
	for k := range want {
		require.Equal(t, want[k], got[k], "golden %s changed", k)
	}

	// The golden encoding decodes to a header that validates and hashes the same.
	raw, err := hex.DecodeString(goldenSignedHeader)
	require.NoError(t, err)
	var dec types.SignedHeader
	require.NoError(t, dec.UnmarshalBinary(raw))
	require.NoError(t, dec.Validate())
	require.Equal(t, goldenHeaderHash, hex.EncodeToString(dec.Hash()))

	// The hash is SHA-256 of the Header message exactly as it sits on the wire
	// (field 1 of SignedHeader), i.e. the encoding is canonical.
	num, typ, n := protowire.ConsumeTag(raw)
	require.Equal(t, protowire.Number(1), num)
	require.Equal(t, protowire.BytesType, typ)
	headerBytes, m := protowire.ConsumeBytes(raw[n:])
	require.Positive(t, m)
	sum := sha256.Sum256(headerBytes)
	require.Equal(t, goldenHeaderHash, hex.EncodeToString(sum[:]))
}
