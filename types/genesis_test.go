package types_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/types"
)

func validGenesis(t *testing.T) *types.Genesis {
	return &types.Genesis{
		ChainID:         "gm",
		InitialHeight:   1,
		GenesisTime:     time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		SequencerPubKey: goldenSigner(t).PublicKey(),
	}
}

func TestGenesisSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "genesis.json")
	g := validGenesis(t)
	require.NoError(t, g.Save(path))

	loaded, err := types.LoadGenesis(path)
	require.NoError(t, err)
	require.Equal(t, g.ChainID, loaded.ChainID)
	require.Equal(t, g.InitialHeight, loaded.InitialHeight)
	require.True(t, g.GenesisTime.Equal(loaded.GenesisTime))
	require.Equal(t, g.SequencerPubKey, loaded.SequencerPubKey)

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"sequencer_pubkey": "`+goldenPubKey+`"`)

	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "an atomic save leaves no temporary file behind")
}

func TestGenesisRejectsBadInput(t *testing.T) {
	key := goldenPubKey
	cases := []struct {
		name, json, mention string
	}{
		{"empty chain id", `{"chain_id":"","initial_height":1,"genesis_time":"2024-01-01T00:00:00Z","sequencer_pubkey":"` + key + `"}`, "chain_id"},
		{"chain id with space", `{"chain_id":"a b","initial_height":1,"genesis_time":"2024-01-01T00:00:00Z","sequencer_pubkey":"` + key + `"}`, "chain_id"},
		{"initial height zero", `{"chain_id":"gm","initial_height":0,"genesis_time":"2024-01-01T00:00:00Z","sequencer_pubkey":"` + key + `"}`, "initial_height"},
		{"negative initial height", `{"chain_id":"gm","initial_height":-1,"genesis_time":"2024-01-01T00:00:00Z","sequencer_pubkey":"` + key + `"}`, "initial_height"},
		{"no time", `{"chain_id":"gm","initial_height":1,"sequencer_pubkey":"` + key + `"}`, "genesis_time"},
		{"key not hex", `{"chain_id":"gm","initial_height":1,"genesis_time":"2024-01-01T00:00:00Z","sequencer_pubkey":"zz"}`, "sequencer_pubkey"},
		{"short key", `{"chain_id":"gm","initial_height":1,"genesis_time":"2024-01-01T00:00:00Z","sequencer_pubkey":"abcd"}`, "sequencer_pubkey"},
		{"unknown field", `{"chain_id":"gm","initial_height":1,"genesis_time":"2024-01-01T00:00:00Z","sequencer_pubkey":"` + key + `","chainid":"x"}`, "chainid"},
		{"truncated", `{"chain_id":"gm",`, "unexpected"},
		{"trailing", `{"chain_id":"gm","initial_height":1,"genesis_time":"2024-01-01T00:00:00Z","sequencer_pubkey":"` + key + `"} {}`, "trailing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "genesis.json")
			require.NoError(t, os.WriteFile(path, []byte(tc.json), 0o644))
			_, err := types.LoadGenesis(path)
			require.ErrorIs(t, err, types.ErrInvalidGenesis)
			require.Contains(t, err.Error(), tc.mention)
			require.Contains(t, err.Error(), path, "the error names the file")
		})
	}

	_, err := types.LoadGenesis(filepath.Join(t.TempDir(), "missing.json"))
	require.ErrorIs(t, err, os.ErrNotExist)

	bad := validGenesis(t)
	bad.InitialHeight = 0
	require.Error(t, bad.Save(filepath.Join(t.TempDir(), "g.json")), "Save refuses an invalid genesis")
	require.True(t, strings.Contains(bad.Validate().Error(), "initial_height"))
}

// A rollkit chain's ID follows CometBFT's rule (1 to 50 bytes, any
// characters), less what network names cannot carry; the native rule is
// stricter.
func TestFormatChainIDRules(t *testing.T) {
	for _, c := range []struct {
		id              string
		native, rollkit bool
	}{
		{"gm", true, true},
		{"rollkit:test_1", false, true},
		{"çhain", false, true},
		{strings.Repeat("a", 50), true, true},
		{strings.Repeat("é", 25), false, true}, // 50 bytes
		{strings.Repeat("a", 51), false, false},
		{"", false, false},
		{"a/b", false, false},
		{"a b", false, false},
		{"a\x00", false, false},
	} {
		require.Equal(t, c.native, types.FormatHeadersync.ValidateChainID(c.id) == nil, "native %q", c.id)
		require.Equal(t, c.rollkit, types.FormatRollkit013.ValidateChainID(c.id) == nil, "rollkit %q", c.id)
	}
	_, err := types.ParseFormat("rollkit")
	require.ErrorContains(t, err, `format "rollkit"; expected "headersync" or "rollkit-v0.13"`)
}
