package config_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/types"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	c := config.Default(config.RoleFull, "gm")
	c.BlockTime = config.Duration(250 * time.Millisecond)
	c.TrustedHash = strings.Repeat("ab", 32)
	c.P2P.Seeds = []string{"/ip4/127.0.0.1/tcp/26656/p2p/12D3KooWGzh4aHp3rLrTxZk4gYhPW2YjvM6mPZ6jjTPQE8ZfG7mB"}
	require.NoError(t, c.Save(path))

	loaded, err := config.Load(path)
	require.NoError(t, err)
	require.Equal(t, c, loaded)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(raw), `block_time = "250ms"`)
}

func TestValidateNamesTheField(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*config.NodeConfig)
		field  string
	}{
		{"unknown role", func(c *config.NodeConfig) { c.Role = "validator" }, "role"},
		{"empty chain id", func(c *config.NodeConfig) { c.ChainID = "" }, "chain_id"},
		{"chain id with slash", func(c *config.NodeConfig) { c.ChainID = "a/b" }, "chain_id"},
		{"zero block time", func(c *config.NodeConfig) { c.BlockTime = 0 }, "block_time"},
		{"huge block time", func(c *config.NodeConfig) { c.BlockTime = config.Duration(2 * time.Hour) }, "block_time"},
		{"trusted hash not hex", func(c *config.NodeConfig) { c.TrustedHash = "xyz" }, "trusted_hash"},
		{"trusted hash short", func(c *config.NodeConfig) { c.TrustedHash = "abcd" }, "trusted_hash"},
		{"trusted hash on sequencer", func(c *config.NodeConfig) {
			c.Role = config.RoleSequencer
			c.TrustedHash = strings.Repeat("00", 32)
		}, "trusted_hash"},
		{"bad listen multiaddr", func(c *config.NodeConfig) { c.P2P.ListenAddress = []string{"tcp://0.0.0.0:1"} }, "p2p.listen_address[0]"},
		{"no listen address", func(c *config.NodeConfig) { c.P2P.ListenAddress = nil }, "p2p.listen_address"},
		{"seed without peer id", func(c *config.NodeConfig) { c.P2P.Seeds = []string{"/ip4/127.0.0.1/tcp/1"} }, "p2p.seeds[0]"},
		{"malformed seed", func(c *config.NodeConfig) { c.P2P.Seeds = []string{"not-a-multiaddr"} }, "p2p.seeds[0]"},
		{"bad blocked peer", func(c *config.NodeConfig) { c.P2P.BlockedPeers = []string{"bogus"} }, "p2p.blocked_peers[0]"},
		{"bad allowed peer", func(c *config.NodeConfig) { c.P2P.AllowedPeers = []string{"Qm"} }, "p2p.allowed_peers[0]"},
		{"api listen without port", func(c *config.NodeConfig) { c.API.Listen = "127.0.0.1" }, "api.listen"},
		{"api listen bad port", func(c *config.NodeConfig) { c.API.Listen = "127.0.0.1:99999" }, "api.listen"},
		{"bad log level", func(c *config.NodeConfig) { c.Log.Level = "loud" }, "log.level"},
		{"bad log format", func(c *config.NodeConfig) { c.Log.Format = "xml" }, "log.format"},
		{"unknown sync from", func(c *config.NodeConfig) { c.SyncFrom = "tail" }, "sync_from"},
		{"empty sync from", func(c *config.NodeConfig) { c.SyncFrom = "" }, "sync_from"},
		{"sync from head on sequencer", func(c *config.NodeConfig) {
			c.Role = config.RoleSequencer
			c.SyncFrom = config.SyncFromHead
		}, "sync_from"},
		{"unknown format", func(c *config.NodeConfig) { c.Format = "rollkit" }, "format"},
		{"rollkit format on sequencer", func(c *config.NodeConfig) {
			c.Role = config.RoleSequencer
			c.Format = types.FormatRollkit013
		}, "format"},
		{"rollkit chain id with a space", func(c *config.NodeConfig) {
			c.Format, c.ChainID = types.FormatRollkit013, "my chain"
		}, "chain_id"},
		{"retain headers on sequencer", func(c *config.NodeConfig) {
			c.Role = config.RoleSequencer
			c.RetainHeaders = 1
		}, "retain_headers"},
		{"retain headers beyond TOML", func(c *config.NodeConfig) { c.RetainHeaders = math.MaxUint64 }, "retain_headers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default(config.RoleFull, "gm")
			tc.mutate(&c)
			err := c.Validate()
			require.ErrorIs(t, err, config.ErrInvalid)
			var fe *config.FieldError
			require.True(t, errors.As(err, &fe), "want *FieldError, got %T: %v", err, err)
			require.Equal(t, tc.field, fe.Field)
			require.Contains(t, err.Error(), "expected", "the error says what is expected")
		})
	}
	require.NoError(t, config.Default(config.RoleSequencer, "gm").Validate())
}

// Each sync_from and retain_headers rule, with the message an operator reads.
func TestSyncFromAndRetainHeaders(t *testing.T) {
	for _, tc := range []struct {
		name   string
		role   config.Role
		from   config.SyncFrom
		retain uint64
		trust  string
		want   string // "" when valid
	}{
		{name: "full from genesis keeps all", role: config.RoleFull, from: config.SyncFromGenesis},
		{name: "full from genesis with a window", role: config.RoleFull, from: config.SyncFromGenesis, retain: 1000},
		{name: "light from head with a window", role: config.RoleLight, from: config.SyncFromHead, retain: 100_000},
		{name: "light from head keeps all", role: config.RoleLight, from: config.SyncFromHead},
		{name: "full from head, window of one", role: config.RoleFull, from: config.SyncFromHead, retain: 1},
		{name: "trusted hash wins over head", role: config.RoleLight, from: config.SyncFromHead, retain: 10, trust: strings.Repeat("ab", 32)},
		{name: "sequencer from genesis", role: config.RoleSequencer, from: config.SyncFromGenesis},
		{name: "unknown value", role: config.RoleLight, from: "tail",
			want: `invalid sync_from "tail"; expected genesis or head`},
		{name: "wrong case", role: config.RoleLight, from: "Head",
			want: `invalid sync_from "Head"; expected genesis or head`},
		{name: "sequencer from head", role: config.RoleSequencer, from: config.SyncFromHead,
			want: `invalid sync_from "head"; expected genesis on a sequencer, which starts the chain itself`},
		{name: "sequencer with a window", role: config.RoleSequencer, from: config.SyncFromGenesis, retain: 500,
			want: `invalid retain_headers "500"; expected 0 on a sequencer: a sequencer keeps its whole chain`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default(tc.role, "gm")
			c.SyncFrom, c.RetainHeaders, c.TrustedHash = tc.from, tc.retain, tc.trust
			err := c.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, config.ErrInvalid)
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestParseSyncFrom(t *testing.T) {
	for _, s := range []string{"genesis", "head"} {
		v, err := config.ParseSyncFrom(s)
		require.NoError(t, err)
		require.Equal(t, config.SyncFrom(s), v)
	}
	for _, s := range []string{"", " head", "tip", "GENESIS"} {
		_, err := config.ParseSyncFrom(s)
		require.ErrorIs(t, err, config.ErrInvalid, "%q", s)
		require.ErrorContains(t, err, "expected genesis or head")
	}
}

// A new node syncs from genesis and keeps everything; so does a node whose
// config.toml predates the two keys.
func TestSyncDefaults(t *testing.T) {
	for _, r := range []config.Role{config.RoleSequencer, config.RoleFull, config.RoleLight} {
		c := config.Default(r, "gm")
		require.Equal(t, config.SyncFromGenesis, c.SyncFrom)
		require.Zero(t, c.RetainHeaders)
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	body := "role = \"light\"\nchain_id = \"gm\"\nblock_time = \"1s\"\ntrusted_hash = \"\"\n" +
		"[p2p]\nlisten_address = [\"/ip4/127.0.0.1/tcp/0\"]\n[api]\nlisten = \"127.0.0.1:0\"\n[log]\nlevel = \"info\"\nformat = \"text\"\n"
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	c, err := config.Load(path)
	require.NoError(t, err)
	require.Equal(t, config.SyncFromGenesis, c.SyncFrom)
	require.Zero(t, c.RetainHeaders)
	require.Equal(t, types.FormatHeadersync, c.Format, "a config from before format is a native chain's")
}

// format round-trips through Save and Load; a rollkit chain takes
// CometBFT's chain IDs, which the native format does not.
func TestLoadFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	c := config.Default(config.RoleLight, "rollkit:chain-1")
	require.ErrorContains(t, c.Validate(), "chain_id")
	c.Format = types.FormatRollkit013
	require.NoError(t, c.Save(path))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(raw), "\nformat = \"rollkit-v0.13\"\n")
	loaded, err := config.Load(path)
	require.NoError(t, err)
	require.Equal(t, c, loaded)
}

// Both keys parse from config.toml and round-trip through Save.
func TestLoadSyncFromAndRetainHeaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	c := config.Default(config.RoleLight, "gm")
	c.SyncFrom, c.RetainHeaders = config.SyncFromHead, 100_000
	require.NoError(t, c.Save(path))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(raw), "\nsync_from = \"head\"\n")
	require.Contains(t, string(raw), "\nretain_headers = 100000\n")
	loaded, err := config.Load(path)
	require.NoError(t, err)
	require.Equal(t, c, loaded)
	// Written by hand, in the node section next to trusted_hash.
	body := strings.Replace(string(raw), "sync_from = \"head\"", "sync_from = \"genesis\"", 1)
	body = strings.Replace(body, "retain_headers = 100000", "retain_headers = 7", 1)
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	loaded, err = config.Load(path)
	require.NoError(t, err)
	require.Equal(t, config.SyncFromGenesis, loaded.SyncFrom)
	require.Equal(t, uint64(7), loaded.RetainHeaders)
}

func TestLoadRejectsBadFiles(t *testing.T) {
	cases := map[string]struct{ body, mention string }{
		"syntax":                  {"role = \"full\"\nchain_id = ", "line 2"},
		"unknown key":             {"role = \"full\"\nchain_id = \"gm\"\nblocktime = \"1s\"\n", "unknown key blocktime"},
		"wrong type":              {"role = 3\n", "role"},
		"bad value":               {"role = \"full\"\nchain_id = \"gm\"\nblock_time = \"soon\"\n", "block_time"},
		"invalid":                 {"role = \"boss\"\nchain_id = \"gm\"\nblock_time = \"1s\"\n", `invalid role "boss"`},
		"sync_from":               {"role = \"full\"\nchain_id = \"gm\"\nblock_time = \"1s\"\nsync_from = \"tip\"\n", `invalid sync_from "tip"; expected genesis or head`},
		"retain_headers negative": {"role = \"full\"\nchain_id = \"gm\"\nblock_time = \"1s\"\nretain_headers = -1\n", `invalid retain_headers "-1"; expected 0 (keep every header) or how many headers to keep`},
		"retain_headers text":     {"role = \"full\"\nchain_id = \"gm\"\nblock_time = \"1s\"\nretain_headers = \"all\"\n", `last key "retain_headers"`},
		"sequencer window": {"role = \"sequencer\"\nchain_id = \"gm\"\nblock_time = \"1s\"\nretain_headers = 10\n" +
			"[p2p]\nlisten_address = [\"/ip4/127.0.0.1/tcp/0\"]\n[api]\nlisten = \"127.0.0.1:0\"\n[log]\nlevel = \"info\"\nformat = \"text\"\n",
			"a sequencer keeps its whole chain"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			require.NoError(t, os.WriteFile(path, []byte(tc.body), 0o644))
			_, err := config.Load(path)
			require.ErrorIs(t, err, config.ErrInvalid)
			require.Contains(t, err.Error(), tc.mention)
			require.Contains(t, err.Error(), path)
		})
	}
	_, err := config.Load(filepath.Join(t.TempDir(), "none.toml"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestSequencerKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sequencer_key.json")
	s, err := types.GenerateSigner()
	require.NoError(t, err)
	require.NoError(t, config.SaveSequencerKey(path, s))
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	loaded, err := config.LoadSequencerKey(path)
	require.NoError(t, err)
	require.Equal(t, s.PublicKey(), loaded.PublicKey())

	require.Error(t, config.SaveSequencerKey(path, s), "an existing key is never overwritten")

	require.NoError(t, os.WriteFile(path, []byte(`{"type":"ed25519","seed":"00"}`), 0o600))
	_, err = config.LoadSequencerKey(path)
	require.ErrorIs(t, err, config.ErrBadKeyFile)
	require.NoError(t, os.WriteFile(path, []byte("garbage"), 0o600))
	_, err = config.LoadSequencerKey(path)
	require.ErrorIs(t, err, config.ErrBadKeyFile)
}

func TestParseRole(t *testing.T) {
	for _, s := range []string{"sequencer", "full", "light"} {
		r, err := config.ParseRole(s)
		require.NoError(t, err)
		require.Equal(t, config.Role(s), r)
	}
	_, err := config.ParseRole("aggregator")
	require.ErrorContains(t, err, `invalid role "aggregator"; expected sequencer, full or light`)
}
