package node

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
)

// sync_from and retain_headers reach both services' configuration (on a
// full node the one setting covers headers and blocks), and every
// configuration config accepts is one p2psync accepts.
func TestSyncConfigCarriesStartAndWindow(t *testing.T) {
	signer, err := types.GenerateSigner()
	require.NoError(t, err)
	g := &types.Genesis{ChainID: "gm", InitialHeight: 1, GenesisTime: time.Now().UTC(), SequencerPubKey: signer.PublicKey()}
	trusted := strings.Repeat("ab", 32)

	for _, tc := range []struct {
		name     string
		role     config.Role
		from     config.SyncFrom
		retain   uint64
		trusted  string
		wantFrom p2psync.SyncFrom
	}{
		{name: "full, defaults", role: config.RoleFull, from: config.SyncFromGenesis, wantFrom: p2psync.SyncFromGenesis},
		{name: "light from head with a window", role: config.RoleLight, from: config.SyncFromHead, retain: 100, wantFrom: p2psync.SyncFromHead},
		{name: "full from head with a window", role: config.RoleFull, from: config.SyncFromHead, retain: 5000, wantFrom: p2psync.SyncFromHead},
		{name: "full from genesis with a window", role: config.RoleFull, from: config.SyncFromGenesis, retain: 1, wantFrom: p2psync.SyncFromGenesis},
		{name: "trusted hash and head: both passed, p2psync lets the hash win", role: config.RoleLight, from: config.SyncFromHead, retain: 10, trusted: trusted, wantFrom: p2psync.SyncFromHead},
		{name: "sequencer", role: config.RoleSequencer, from: config.SyncFromGenesis, wantFrom: p2psync.SyncFromGenesis},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default(tc.role, "gm")
			cfg.SyncFrom, cfg.RetainHeaders, cfg.TrustedHash = tc.from, tc.retain, tc.trusted
			require.NoError(t, cfg.Validate())

			base, err := syncConfig(cfg, g, 0, SyncTuning{})
			require.NoError(t, err)
			require.Equal(t, tc.wantFrom, base.SyncFrom)
			require.Equal(t, tc.retain, base.Retain)
			require.Equal(t, tc.role == config.RoleSequencer, base.Sequencer)
			require.Equal(t, tc.trusted != "", len(base.TrustedHash) != 0)
			// startServices derives both services from base by Kind alone.
			for _, kind := range []p2psync.Kind{p2psync.Headers, p2psync.Blocks} {
				c := base
				c.Kind = kind
				c.Defaults()
				require.NoError(t, c.Validate(), "%s", kind)
				require.Equal(t, tc.wantFrom, c.SyncFrom, "%s", kind)
				require.Equal(t, tc.retain, c.Retain, "%s", kind)
			}
		})
	}
}

// Every sync_from config accepts has its p2psync value of the same name;
// anything else is refused as config refuses it.
func TestSyncFromMapsEveryConfigValue(t *testing.T) {
	for v, want := range map[config.SyncFrom]p2psync.SyncFrom{
		config.SyncFromGenesis: p2psync.SyncFromGenesis,
		config.SyncFromHead:    p2psync.SyncFromHead,
	} {
		got, err := syncFrom(v)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	for _, v := range []config.SyncFrom{"", "tail"} {
		_, err := syncFrom(v)
		require.ErrorIs(t, err, config.ErrInvalid, "%q", v)
		require.ErrorContains(t, err, "sync_from")
	}
}
