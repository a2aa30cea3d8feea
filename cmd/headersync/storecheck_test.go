package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-datastore"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/store/headerstore"
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

var okLine = regexp.MustCompile(`(?m)^(headers|blocks): (\d+)\.\.(\d+) ok( \(a window: .*\))?$`)

// requireChecksFrom runs check with args and requires both chains to pass,
// beginning at from; it returns where the headers and the blocks end.
func requireChecksFrom(t *testing.T, from string, args ...string) (headers, blocks string) {
	t.Helper()
	out := mustCLI(t, append([]string{"check"}, args...)...)
	m := okLine.FindAllStringSubmatch(out, -1)
	require.Len(t, m, 2, out)
	for _, chain := range m {
		require.Equal(t, from, chain[2], "%s begin at %s: %s", chain[1], from, out)
	}
	return m[0][3], m[1][3]
}

// A node started with --trusted-hash stores chains that begin at that
// header. check passes them as start did: from the base the node recorded,
// from --trusted-hash, or from the config's trusted_hash; without any, as a
// window above genesis, and it says so.
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

	// The sequencer may have produced a block or two past the imported
	// chain before it stopped: the chains end at the full node's heads.
	headEnd, blockEnd := requireChecksFrom(t, "100", "--home", fullHome)
	requireChecksFrom(t, "100", "--home", fullHome, "--trusted-hash", trusted)

	// A home from before the base was recorded: without the hash, check
	// takes the chain for a window above genesis, whose base is signed by
	// the genesis key, and says so; with it, the chain begins where it must.
	ds, err := store.Open(config.Home(fullHome).DataDir())
	require.NoError(t, err)
	for _, k := range []string{"/trustedbase/headerEx", "/trustedbase/blockEx"} {
		require.NoError(t, ds.Delete(context.Background(), datastore.NewKey(k)))
	}
	require.NoError(t, ds.Close())
	require.Equal(t, "headers: 100.."+headEnd+" ok (a window: heights 1..99 are not stored)\n"+
		"blocks: 100.."+blockEnd+" ok (a window: heights 1..99 are not stored)", mustCLI(t, "check", "--home", fullHome))
	requireChecksFrom(t, "100", "--home", fullHome, "--trusted-hash", trusted)
	require.NotContains(t, mustCLI(t, "check", "--home", fullHome, "--trusted-hash", trusted), "window")

	cfgFile := config.Home(fullHome).ConfigFile()
	cfg, err := config.Load(cfgFile)
	require.NoError(t, err)
	cfg.TrustedHash = trusted
	require.NoError(t, cfg.Save(cfgFile))
	requireChecksFrom(t, "100", "--home", fullHome)
}

// pruneHome deletes, in the stopped node's data dir, the headers and blocks
// below base, as a node keeping a window does.
func pruneHome(t *testing.T, home string, base uint64) {
	t.Helper()
	ctx := context.Background()
	ds, err := store.Open(config.Home(home).DataDir())
	require.NoError(t, err)
	defer func() { require.NoError(t, ds.Close()) }()
	headers, err := headerstore.New[*types.SignedHeader](ds.Pebble(), p2psync.Headers.StorePrefix())
	require.NoError(t, err)
	require.NoError(t, headers.DeleteBelow(ctx, base))
	blocks, err := headerstore.New[*types.Block](ds.Pebble(), p2psync.Blocks.StorePrefix())
	require.NoError(t, err)
	require.NoError(t, blocks.DeleteBelow(ctx, base))
}

// A home that keeps a window (heights 101..300): check passes it from its
// base and says which heights it does not store; the running node shows
// each service's base beside its height in status, and answers a header
// below the base as pruned. A base header signed by another key fails check,
// and the node refuses to start on it.
func TestCheckAndStatusOfAWindowedHome(t *testing.T) {
	seqHome, fullHome, _ := homes(t)
	blocks := importChainAs(t, seqHome, fullHome, 300)
	pruneHome(t, fullHome, 101)

	require.Equal(t, "headers: 101..300 ok (a window: heights 1..100 are not stored)\n"+
		"blocks: 101..300 ok (a window: heights 1..100 are not stored)", mustCLI(t, "check", "--home", fullHome))

	ports := newPorts(t)
	full := start(t, "full", fullHome, ports)
	status := mustCLI(t, "status", "--api", ports.apiURL())
	for _, service := range []string{"headers", "blocks"} {
		require.Regexp(t, `"`+service+`": \{[^}]*"base": 101,\s+"height": 300,`, status, "%s: base beside height", service)
	}
	_, errOut, code := cli(t, "header", "50", "--api", ports.apiURL())
	require.Equal(t, 1, code, errOut)
	require.Contains(t, lastLine(t, errOut), "404 Not Found: header 50 pruned: this node keeps heights 101..300")
	require.Equal(t, []byte(blocks[100].Hash()), []byte(full.header("101").Hash), "the base is served")
	full.terminate()

	// The base header, signed by another key (its proposer address, so
	// its hash, change with the key).
	other, err := types.GenerateSigner()
	require.NoError(t, err)
	h := blocks[100].SignedHeader().Header()
	h.ProposerAddress = nil
	forged, err := other.Sign(h)
	require.NoError(t, err)
	raw, err := forged.MarshalBinary()
	require.NoError(t, err)
	ds, err := store.Open(config.Home(fullHome).DataDir())
	require.NoError(t, err)
	require.NoError(t, ds.Pebble().Set(be.AppendUint64([]byte("/headerEx/v2/h/"), 101), raw, pebble.Sync))
	require.NoError(t, ds.Close())

	g, err := types.LoadGenesis(config.Home(fullHome).GenesisFile())
	require.NoError(t, err)
	notOurs := fmt.Sprintf("header 101 (base): not signed by the genesis sequencer key: signed by key %x, expected %x",
		[]byte(other.PublicKey()), []byte(g.SequencerPubKey))
	out, errOut, code := cli(t, "check", "--home", fullHome)
	require.Equal(t, 1, code, errOut)
	require.Equal(t, "blocks: 101..300 ok (a window: heights 1..100 are not stored)\n", out, "the block chain is untouched")
	require.Equal(t, "headersync: corrupt store: "+notOurs, lastLine(t, errOut))

	_, errOut, code = cli(t, "start", "--home", fullHome, "--p2p.listen", ports.listen(), "--api.listen", ports.apiAddr())
	require.Equal(t, 1, code, errOut)
	require.Contains(t, lastLine(t, errOut), "the stored chain is not the genesis chain: stored "+notOurs)
}
