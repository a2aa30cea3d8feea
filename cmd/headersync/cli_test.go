package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A light node started before the sequencer exists waits for the genesis
// header, then syncs once the sequencer appears.
func TestLightNodeStartedBeforeSequencer(t *testing.T) {
	seqHome, _, lightHome := homes(t)
	seqPorts, lightPorts := newPorts(t), newPorts(t)
	seqID := mustCLI(t, "node-id", "--home", seqHome)

	light := start(t, "light", lightHome, lightPorts, "--p2p.seeds", seqPorts.seed(seqID))
	st := light.status()
	require.False(t, st.Headers.Initialised)
	require.Equal(t, "genesis", st.Headers.WaitingFor)

	seq := start(t, "sequencer", seqHome, seqPorts)
	waitHeight(t, 10, seq, light)
	require.Equal(t, seq.header("5").Hash, light.header("5").Hash)
	light.terminate()
	seq.terminate()
}

// Bad input gets one clear line on stderr and exit code 1: no panic, no
// usage dump, no partial home.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	seqHome := filepath.Join(dir, "seq")
	mustCLI(t, "init", "--home", seqHome, "--chain-id", "gm", "--role", "sequencer")
	genesis := filepath.Join(seqHome, "genesis.json")

	corruptGenesis := filepath.Join(dir, "corrupt-genesis.json")
	require.NoError(t, os.WriteFile(corruptGenesis, []byte(`{"chain_id": "gm", "initial_height": 0}`), 0o644))

	// A home whose config.toml is malformed, one with an unknown key, one
	// whose genesis belongs to another chain, one with a corrupt genesis.
	home := func(name string, edit func(home string)) string {
		h := filepath.Join(dir, name)
		mustCLI(t, "init", "--home", h, "--role", "full", "--genesis", genesis)
		edit(h)
		return h
	}
	writeFile := func(path, content string) {
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	replaceIn := func(path, old, new string) {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Contains(t, string(data), old)
		writeFile(path, strings.Replace(string(data), old, new, 1))
	}
	malformed := home("malformed", func(h string) { writeFile(filepath.Join(h, "config.toml"), "role = \"full\"\nchain_id = [\n") })
	unknownKey := home("unknown-key", func(h string) {
		replaceIn(filepath.Join(h, "config.toml"), "role = ", "blocktime = \"1s\"\nrole = ")
	})
	wrongChain := home("wrong-chain", func(h string) { replaceIn(filepath.Join(h, "config.toml"), `chain_id = "gm"`, `chain_id = "other"`) })
	badGenesis := home("bad-genesis", func(h string) { writeFile(filepath.Join(h, "genesis.json"), "{not json") })

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()

	cases := []struct {
		name    string
		args    []string
		mention string
	}{
		{"unknown role", []string{"init", "--home", filepath.Join(dir, "x1"), "--chain-id", "gm", "--role", "boss"}, `invalid role "boss"`},
		{"full node without genesis", []string{"init", "--home", filepath.Join(dir, "x2"), "--role", "full"}, "needs --genesis"},
		{"corrupt genesis file", []string{"init", "--home", filepath.Join(dir, "x3"), "--role", "light", "--genesis", corruptGenesis}, "initial_height"},
		{"missing genesis file", []string{"init", "--home", filepath.Join(dir, "x4"), "--role", "light", "--genesis", filepath.Join(dir, "nope.json")}, "no such file"},
		{"chain id differs from genesis", []string{"init", "--home", filepath.Join(dir, "x5"), "--role", "full", "--chain-id", "other", "--genesis", genesis}, "does not match"},
		{"existing home", []string{"init", "--home", seqHome, "--chain-id", "gm", "--role", "sequencer"}, "not empty"},
		{"bad chain id", []string{"init", "--home", filepath.Join(dir, "x6"), "--chain-id", "a/b", "--role", "sequencer"}, "chain"},
		{"home does not exist", []string{"start", "--home", filepath.Join(dir, "nowhere")}, "headersync init"},
		{"malformed config", []string{"start", "--home", malformed}, "line 2"},
		{"unknown config key", []string{"start", "--home", unknownKey}, "unknown key blocktime"},
		{"chain id differs between config and genesis", []string{"start", "--home", wrongChain}, "does not match"},
		{"corrupt genesis", []string{"start", "--home", badGenesis}, "genesis"},
		{"occupied API port", []string{"start", "--home", seqHome, "--p2p.listen", "/ip4/127.0.0.1/tcp/0", "--api.listen", busy.Addr().String()}, "address already in use"},
		{"malformed seed", []string{"start", "--home", seqHome, "--p2p.seeds", "/ip4/127.0.0.1/tcp/1"}, "p2p.seeds[0]"},
		{"bad block time", []string{"start", "--home", seqHome, "--block-time", "0s"}, "block_time"},
		{"bad trusted hash", []string{"start", "--home", malformed, "--trusted-hash", "xyz"}, "line 2"},
		{"unknown flag", []string{"start", "--homme", seqHome}, "unknown flag"},
		{"bad header ref", []string{"header", "latest", "--api", "http://127.0.0.1:1"}, "invalid"},
		{"unreachable API", []string{"status", "--api", "http://127.0.0.1:1"}, "connection refused"},
		{"bad API URL", []string{"status", "--api", "ftp://x"}, "ftp://x"},
		{"node-id of nothing", []string{"node-id", "--home", filepath.Join(dir, "nowhere")}, "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := cli(t, tc.args...)
			require.Equal(t, 1, code, "stdout: %s\nstderr: %s", stdout, stderr)
			// The error is the last line of stderr, after whatever the node
			// logged while starting, and the only one saying "headersync:".
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			line := lines[len(lines)-1]
			require.True(t, strings.HasPrefix(line, "headersync: "), stderr)
			require.Equal(t, 1, strings.Count(stderr, "headersync: "), stderr)
			require.Contains(t, line, tc.mention)
			require.NotContains(t, stderr, "panic")
			require.NotContains(t, stderr, "Usage:")
		})
	}

	// Failed inits left no partial home behind.
	for _, name := range []string{"x1", "x2", "x3", "x4", "x5", "x6"} {
		entries, _ := os.ReadDir(filepath.Join(dir, name))
		require.Empty(t, entries, "init left files in %s", name)
	}
	// The occupied-port start left the sequencer's home usable.
	require.FileExists(t, filepath.Join(seqHome, "config.toml"))
}

func TestVersionAndNodeID(t *testing.T) {
	out := mustCLI(t, "version")
	require.True(t, strings.HasPrefix(out, "headersync "), out)

	home := filepath.Join(t.TempDir(), "seq")
	id := mustCLI(t, "init", "--home", home, "--chain-id", "gm", "--role", "sequencer")
	require.Equal(t, id, mustCLI(t, "node-id", "--home", home))
	require.True(t, strings.HasPrefix(id, "12D3Koo"), id)
}
