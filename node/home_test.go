package node_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/node"
	"github.com/headersync/headersync/signstate"
	"github.com/headersync/headersync/types"
)

func TestInitHome(t *testing.T) {
	root := t.TempDir()
	seqHome := config.Home(filepath.Join(root, "seq"))
	id, err := node.InitHome(seqHome, node.InitOptions{Role: config.RoleSequencer, ChainID: "gm"})
	require.NoError(t, err)
	require.NotEmpty(t, id)
	for _, f := range []string{seqHome.ConfigFile(), seqHome.GenesisFile(), seqHome.NodeKeyFile(), seqHome.SequencerKeyFile()} {
		require.FileExists(t, f)
	}
	genesis, err := types.LoadGenesis(seqHome.GenesisFile())
	require.NoError(t, err)
	signer, err := config.LoadSequencerKey(seqHome.SequencerKeyFile())
	require.NoError(t, err)
	require.Equal(t, signer.PublicKey(), genesis.SequencerPubKey, "the genesis names the sequencer's new key")
	guard, err := signstate.Load(seqHome.SigningStateFile(), signer, genesis)
	require.NoError(t, err, "init creates the signing state")
	require.Zero(t, guard.Height(), "a new sequencer has signed nothing")

	_, err = node.InitHome(seqHome, node.InitOptions{Role: config.RoleSequencer, ChainID: "gm"})
	require.ErrorIs(t, err, node.ErrHomeExists)

	fullHome := config.Home(filepath.Join(root, "full"))
	_, err = node.InitHome(fullHome, node.InitOptions{Role: config.RoleFull, Genesis: genesis})
	require.NoError(t, err)
	cfg, err := config.Load(fullHome.ConfigFile())
	require.NoError(t, err)
	require.Equal(t, "gm", cfg.ChainID, "the chain ID comes from the genesis")
	require.NoFileExists(t, fullHome.SequencerKeyFile())

	opts, err := node.FromHome(fullHome, cfg)
	require.NoError(t, err)
	require.Equal(t, genesis.SequencerPubKey, opts.Genesis.SequencerPubKey)
	require.Nil(t, opts.Signer)
}

// A failed init leaves no partial home behind.
func TestInitHomeLeavesNothingOnFailure(t *testing.T) {
	root := t.TempDir()
	genesis := &types.Genesis{ChainID: "gm", InitialHeight: 1}
	cases := map[string]node.InitOptions{
		"full without genesis":     {Role: config.RoleFull, ChainID: "gm"},
		"invalid genesis":          {Role: config.RoleLight, Genesis: genesis},
		"chain id differs":         {Role: config.RoleFull, ChainID: "other", Genesis: validGenesis(t)},
		"sequencer with a genesis": {Role: config.RoleSequencer, ChainID: "gm", Genesis: validGenesis(t)},
		"unknown role":             {Role: "boss", ChainID: "gm"},
		"bad chain id":             {Role: config.RoleSequencer, ChainID: "a b"},
	}
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			home := config.Home(filepath.Join(root, filepath.Base(t.Name())))
			_, err := node.InitHome(home, o)
			require.Error(t, err)
			entries, _ := os.ReadDir(string(home))
			require.Empty(t, entries, "init left files behind")
		})
	}
}

func validGenesis(t *testing.T) *types.Genesis {
	t.Helper()
	home := config.Home(filepath.Join(t.TempDir(), "seq"))
	_, err := node.InitHome(home, node.InitOptions{Role: config.RoleSequencer, ChainID: "gm"})
	require.NoError(t, err)
	g, err := types.LoadGenesis(home.GenesisFile())
	require.NoError(t, err)
	return g
}

func TestNewRejectsInconsistentOptions(t *testing.T) {
	root := t.TempDir()
	seqHome := config.Home(filepath.Join(root, "seq"))
	_, err := node.InitHome(seqHome, node.InitOptions{Role: config.RoleSequencer, ChainID: "gm"})
	require.NoError(t, err)
	cfg, err := config.Load(seqHome.ConfigFile())
	require.NoError(t, err)
	good, err := node.FromHome(seqHome, cfg)
	require.NoError(t, err)
	other, err := types.GenerateSigner()
	require.NoError(t, err)

	cases := map[string]func(o *node.Options){
		"chain id differs from genesis": func(o *node.Options) { o.Config.ChainID = "other" },
		"sequencer without key":         func(o *node.Options) { o.Signer = nil },
		"sequencer with another key":    func(o *node.Options) { o.Signer = other },
		"light node with a key":         func(o *node.Options) { o.Config.Role = config.RoleLight },
		"no genesis":                    func(o *node.Options) { o.Genesis = nil },
		"no identity":                   func(o *node.Options) { o.Identity = nil },
		"no data dir":                   func(o *node.Options) { o.DataDir = "" },
		"invalid config":                func(o *node.Options) { o.Config.BlockTime = 0 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			o := good
			o.Config = good.Config
			mutate(&o)
			_, err := node.New(o)
			require.Error(t, err)
		})
	}
	_, err = node.New(good)
	require.NoError(t, err)

	_, err = node.FromHome(config.Home(filepath.Join(root, "missing")), cfg)
	require.ErrorIs(t, err, os.ErrNotExist)
}
