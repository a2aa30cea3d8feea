package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/ipfs/go-datastore"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/types"
)

// lastLine returns the last line of out, and requires it to be the only
// "headersync:" error line.
func lastLine(t *testing.T, out string) string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	require.Equal(t, 1, strings.Count(out, "headersync: "), "one error line in:\n%s", out)
	return lines[len(lines)-1]
}

// A full node whose genesis.json now names another sequencer key refuses to
// start on the chain the old key signed, in one line naming both keys; it
// started and served that chain before. check agrees.
func TestStartRefusesGenesisWithAnotherKey(t *testing.T) {
	seqHome, fullHome, _ := homes(t)
	importChainAs(t, seqHome, fullHome, 220)
	genesisFile := config.Home(fullHome).GenesisFile()
	g, err := types.LoadGenesis(genesisFile)
	require.NoError(t, err)
	stored := []byte(g.SequencerPubKey)
	other, err := types.GenerateSigner()
	require.NoError(t, err)
	g.SequencerPubKey = other.PublicKey()
	require.NoError(t, g.Save(genesisFile))

	ports := newPorts(t)
	_, errOut, code := cli(t, "start", "--home", fullHome, "--p2p.listen", ports.listen(), "--api.listen", ports.apiAddr())
	require.Equal(t, 1, code, errOut)
	require.Equal(t, fmt.Sprintf("headersync: the stored chain is not the genesis chain: stored header 220 (head): "+
		"not signed by the genesis sequencer key: signed by key %x, expected %x "+
		"(the data dir holds another chain, or genesis.json changed; refusing to start)", stored, []byte(other.PublicKey())),
		lastLine(t, errOut))

	_, errOut, code = cli(t, "check", "--home", fullHome)
	require.Equal(t, 1, code, errOut)
	require.Contains(t, lastLine(t, errOut), fmt.Sprintf("header 220 (head): not signed by the genesis sequencer key: signed by key %x, expected %x", stored, []byte(other.PublicKey())))
}

var okLine = regexp.MustCompile(`(?m)^(headers|blocks): (\d+)\.\.(\d+) ok$`)

// requireChecksFrom runs check with args and requires both chains to pass,
// beginning at from.
func requireChecksFrom(t *testing.T, from string, args ...string) {
	t.Helper()
	out := mustCLI(t, append([]string{"check"}, args...)...)
	m := okLine.FindAllStringSubmatch(out, -1)
	require.Len(t, m, 2, out)
	for _, chain := range m {
		require.Equal(t, from, chain[2], "%s begin at %s: %s", chain[1], from, out)
	}
}

// A node started with --trusted-hash stores chains that begin at that
// header. check passes them as start did: from the base the node recorded,
// from --trusted-hash, or from the config's trusted_hash; without any, it
// says where the chain begins, naming each thing once.
func TestCheckAgreesWithStartFromTrustedHash(t *testing.T) {
	const chainLen = 300
	seqHome, fullHome, _ := homes(t)
	importChain(t, seqHome, chainLen)
	seqPorts, fullPorts := newPorts(t), newPorts(t)
	seqID := mustCLI(t, "node-id", "--home", seqHome)
	seq := start(t, "sequencer", seqHome, seqPorts)
	trusted := seq.header("100").Hash.String()
	full := start(t, "full", fullHome, fullPorts, "--p2p.seeds", seqPorts.seed(seqID), "--trusted-hash", trusted)
	require.Eventually(t, func() bool {
		h, b := full.heights()
		return h >= chainLen && b >= chainLen
	}, waitFor, tick, "the full node never caught up")
	full.terminate()
	seq.terminate()

	requireChecksFrom(t, "100", "--home", fullHome)
	requireChecksFrom(t, "100", "--home", fullHome, "--trusted-hash", trusted)

	// A home from before the base was recorded: check needs the hash.
	ds, err := store.Open(config.Home(fullHome).DataDir())
	require.NoError(t, err)
	for _, k := range []string{"/trustedbase/headerEx", "/trustedbase/blockEx"} {
		require.NoError(t, ds.Delete(context.Background(), datastore.NewKey(k)))
	}
	require.NoError(t, ds.Close())
	_, errOut, code := cli(t, "check", "--home", fullHome)
	require.Equal(t, 1, code, errOut)
	line := lastLine(t, errOut)
	require.Contains(t, line, "corrupt store: the header chain begins at 100: not the expected first header: height 100, expected genesis initial height 1")
	require.Contains(t, line, "corrupt store: the block chain begins at 100:")
	for _, twice := range []string{"header header", "block header", "block block"} {
		require.NotContains(t, line, twice)
	}
	requireChecksFrom(t, "100", "--home", fullHome, "--trusted-hash", trusted)

	cfgFile := config.Home(fullHome).ConfigFile()
	cfg, err := config.Load(cfgFile)
	require.NoError(t, err)
	cfg.TrustedHash = trusted
	require.NoError(t, cfg.Save(cfgFile))
	requireChecksFrom(t, "100", "--home", fullHome)
}
