package types_test

import (
	"bytes"
	"testing"

	"github.com/headersync/headersync/types"
)

// Decoding arbitrary bytes never panics; whatever decodes re-encodes to bytes
// that decode to the same header (same hash), and Validate never panics.
func FuzzSignedHeaderUnmarshal(f *testing.F) {
	enc, err := goldenBlock(f).SignedHeader().MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		var sh types.SignedHeader
		if err := sh.UnmarshalBinary(data); err != nil {
			return
		}
		_ = sh.Validate()
		again, err := sh.MarshalBinary()
		if err != nil {
			return // e.g. a chain ID that is not UTF-8 cannot be re-encoded
		}
		var dec types.SignedHeader
		if err := dec.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded header does not decode: %v", err)
		}
		if !bytes.Equal(sh.Hash(), dec.Hash()) {
			t.Fatalf("hash changed across re-encoding")
		}
	})
}

func FuzzBlockUnmarshal(f *testing.F) {
	enc, err := goldenBlock(f).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add([]byte{})
	f.Add([]byte{0x12, 0x02, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		var b types.Block
		if err := b.UnmarshalBinary(data); err != nil {
			return
		}
		_ = b.Validate()
		again, err := b.MarshalBinary()
		if err != nil {
			return
		}
		var dec types.Block
		if err := dec.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded block does not decode: %v", err)
		}
		if !bytes.Equal(b.Hash(), dec.Hash()) {
			t.Fatalf("hash changed across re-encoding")
		}
	})
}

// Any genesis file either fails to load or loads, validates and saves back
// to a file that loads to the same genesis.
func FuzzGenesisJSON(f *testing.F) {
	f.Add([]byte(`{"chain_id":"gm","initial_height":1,"genesis_time":"2024-01-01T00:00:00Z","sequencer_pubkey":"` + goldenPubKey + `"}`))
	f.Add([]byte(`{"chain_id":"","initial_height":0}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var g types.Genesis
		if err := g.UnmarshalJSON(data); err != nil {
			return
		}
		if g.Validate() != nil {
			return
		}
		again, err := g.MarshalJSON()
		if err != nil {
			t.Fatalf("valid genesis does not encode: %v", err)
		}
		var back types.Genesis
		if err := back.UnmarshalJSON(again); err != nil {
			t.Fatalf("re-encoded genesis does not decode: %v", err)
		}
		if back.ChainID != g.ChainID || back.InitialHeight != g.InitialHeight ||
			!back.GenesisTime.Equal(g.GenesisTime) || !bytes.Equal(back.SequencerPubKey, g.SequencerPubKey) {
			t.Fatalf("genesis changed across re-encoding: %+v vs %+v", g, back)
		}
	})
}
