package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtypes "github.com/cometbft/cometbft/types"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/types"
	"github.com/headersync/headersync/types/rollkit"
)

const rollkitChainID = "rollkit-chain"

// rollkitGenesis writes a rollkit chain's genesis.json as rollkit does
// (CometBFT's GenesisDoc, one ed25519 validator) and returns its path and
// the sequencer's signer.
func rollkitGenesis(t *testing.T) (string, *rollkit.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s := rollkit.NewSigner(priv)
	doc := cmtypes.GenesisDoc{
		ChainID: rollkitChainID, InitialHeight: 1, GenesisTime: time.Now().Add(-time.Hour).UTC().Truncate(time.Second),
		Validators: []cmtypes.GenesisValidator{{PubKey: cmted25519.PubKey(s.PublicKey()), Power: 1, Name: "sequencer"}},
	}
	path := filepath.Join(t.TempDir(), "genesis.json")
	require.NoError(t, doc.SaveAs(path))
	return path, s
}

// importRollkitChain stores n rollkit blocks and their headers in home's
// data dir, as if the node had synced them, and returns the blocks.
func importRollkitChain(t *testing.T, home string, s *rollkit.Signer, n int) []*rollkit.Block {
	t.Helper()
	ctx := context.Background()
	all, err := s.Chain(rollkitChainID, n, time.Now().Add(-time.Duration(n+1)*time.Millisecond), time.Millisecond,
		func(i int) types.Data { return types.Data{Txs: [][]byte{[]byte("tx"), {byte(i)}}} })
	require.NoError(t, err)
	ds, err := store.Open(config.Home(home).DataDir())
	require.NoError(t, err)
	defer func() { require.NoError(t, ds.Close()) }()
	blocks, err := p2psync.NewImporter[*rollkit.Block](ctx, ds, p2psync.Blocks)
	require.NoError(t, err)
	headers, err := p2psync.NewImporter[*rollkit.SignedHeader](ctx, ds, p2psync.Headers)
	require.NoError(t, err)
	hs := make([]*rollkit.SignedHeader, n)
	for i, b := range all {
		hs[i] = b.SignedHeader()
	}
	require.NoError(t, blocks.Append(ctx, all...))
	require.NoError(t, headers.Append(ctx, hs...))
	require.NoError(t, blocks.Close(ctx))
	require.NoError(t, headers.Close(ctx))
	return all
}

// A full and a light node of a rollkit v0.13 chain, from rollkit's own
// genesis.json: init copies it as is and records the format; the light
// node syncs the full node's chain over rollkit's network names, headers
// with rollkit's hashes, and check passes its store offline.
func TestRollkitFormatNodes(t *testing.T) {
	const n = 300
	genesis, signer := rollkitGenesis(t)
	dir := t.TempDir()
	fullHome, lightHome := filepath.Join(dir, "full"), filepath.Join(dir, "light")
	fullID := mustCLI(t, "init", "--home", fullHome, "--role", "full", "--format", "rollkit-v0.13", "--genesis", genesis)
	mustCLI(t, "init", "--home", lightHome, "--role", "light", "--format", "rollkit-v0.13", "--genesis", genesis)

	want, err := os.ReadFile(genesis)
	require.NoError(t, err)
	got, err := os.ReadFile(config.Home(lightHome).GenesisFile())
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "rollkit's genesis.json is kept as rollkit wrote it")
	cfg, err := config.Load(config.Home(lightHome).ConfigFile())
	require.NoError(t, err)
	require.Equal(t, types.FormatRollkit013, cfg.Format)
	require.Equal(t, rollkitChainID, cfg.ChainID)

	blocks := importRollkitChain(t, fullHome, signer, n)
	fullPorts, lightPorts := newPorts(t), newPorts(t)
	full := start(t, "full", fullHome, fullPorts)
	light := start(t, "light", lightHome, lightPorts, "--p2p.seeds", fullPorts.seed(fullID))
	require.Eventually(t, func() bool { return light.height() == n }, waitFor, tick, "the light node never caught up")
	for _, h := range []string{"1", "150", "300"} {
		hdr := light.header(h)
		require.Equal(t, []byte(blocks[hdr.Height-1].Hash()), []byte(hdr.Hash), "height %s", h)
		require.Equal(t, []byte(signer.PublicKey()), []byte(hdr.Signer))
	}
	require.Equal(t, uint64(n), full.status().Blocks.Height)
	require.Eventually(t, func() bool { return full.status().CrossCheck.CheckedHeight == n }, waitFor, tick,
		"the full node checks every rollkit block against the header of its height")
	require.Zero(t, full.status().CrossCheck.Mismatches)
	light.terminate()
	full.terminate()

	require.Equal(t, "headers: 1..300 ok", mustCLI(t, "check", "--home", lightHome))
	require.Equal(t, "headers: 1..300 ok\nblocks: 1..300 ok", mustCLI(t, "check", "--home", fullHome))
}

// What init refuses for the rollkit format, each in one line that says why.
func TestRollkitFormatInitRefuses(t *testing.T) {
	genesis, _ := rollkitGenesis(t)
	dir := t.TempDir()

	_, errOut, code := cli(t, "init", "--home", filepath.Join(dir, "seq"), "--role", "sequencer", "--chain-id", "x", "--format", "rollkit-v0.13")
	require.Equal(t, 1, code)
	require.Contains(t, lastLine(t, errOut), "--format rollkit-v0.13 is for full and light nodes")

	_, errOut, code = cli(t, "init", "--home", filepath.Join(dir, "a"), "--role", "light", "--format", "rollkit-v0.12", "--genesis", genesis)
	require.Equal(t, 1, code)
	require.Contains(t, lastLine(t, errOut), `format "rollkit-v0.12"; expected "headersync" or "rollkit-v0.13"`)

	// A rollkit genesis read as a native one, and the other way round.
	_, errOut, code = cli(t, "init", "--home", filepath.Join(dir, "b"), "--role", "light", "--genesis", genesis)
	require.Equal(t, 1, code)
	require.Contains(t, lastLine(t, errOut), "--format rollkit-v0.13")
	seq := filepath.Join(dir, "seq2")
	mustCLI(t, "init", "--home", seq, "--chain-id", "gm", "--role", "sequencer")
	_, errOut, code = cli(t, "init", "--home", filepath.Join(dir, "c"), "--role", "light", "--format", "rollkit-v0.13",
		"--genesis", config.Home(seq).GenesisFile())
	require.Equal(t, 1, code)
	require.Contains(t, lastLine(t, errOut), "not a rollkit genesis")
	for _, home := range []string{"a", "b", "c"} {
		_, err := os.Stat(filepath.Join(dir, home))
		require.True(t, os.IsNotExist(err) || isEmptyDir(t, filepath.Join(dir, home)), "no home left behind")
	}
	require.False(t, strings.Contains(errOut, "panic"))
}

func isEmptyDir(t *testing.T, dir string) bool {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	return len(entries) == 0
}
