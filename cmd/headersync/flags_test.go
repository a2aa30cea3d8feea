package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/config"
)

// Every flag refuses what it does not accept, with one line in config's
// FieldError form, before anything starts.
func TestFlagValidation(t *testing.T) {
	home := filepath.Join(t.TempDir(), "seq")
	mustCLI(t, "init", "--home", home, "--chain-id", "gm", "--role", "sequencer")
	lightHome := filepath.Join(t.TempDir(), "light")
	mustCLI(t, "init", "--home", lightHome, "--role", "light", "--genesis", filepath.Join(home, "genesis.json"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "catchup", "--headers", "0"}, `invalid --headers "0"; expected at least 2`},
		{[]string{"bench", "catchup", "--headers", "-5"}, `invalid --headers "-5"; expected at least 2`},
		{[]string{"bench", "catchup", "--peers", "0"}, `invalid --peers "0"; expected at least 1`},
		{[]string{"bench", "catchup", "--store", "disk"}, `invalid --store "disk"; expected memory or pebble`},
		{[]string{"bench", "catchup", "--rtt", "-20ms"}, `invalid --rtt "-20ms"; expected a duration of 0 or more`},
		{[]string{"bench", "catchup", "--rtt", "fast"}, `invalid --rtt "fast"; expected a duration of 0 or more`},
		{[]string{"bench", "catchup", "--rtt", "20ms,,100ms"}, `invalid --rtt "20ms,,100ms"; expected a duration of 0 or more`},
		{[]string{"bench", "catchup", "--peers", "3", "--rtt", "20ms,100ms"}, `invalid --rtt "20ms,100ms"; expected 1 duration or one per peer (3)`},
		{[]string{"bench", "catchup", "--rtt", "20ms,100ms"}, `invalid --rtt "20ms,100ms"; expected 1 duration or one per peer (1)`},
		{[]string{"bench", "catchup", "--log.level", "loud"}, `invalid --log.level "loud"; expected debug, info, warn or error`},
		{[]string{"bench", "gossip", "--nodes", "1"}, `invalid --nodes "1"; expected at least 2`},
		{[]string{"bench", "gossip", "--block-time", "0s"}, `invalid --block-time "0s"; expected a positive duration`},
		{[]string{"bench", "gossip", "--blocks", "0"}, `invalid --blocks "0"; expected at least 1`},
		{[]string{"bench", "gossip", "--nodes", "501"}, `invalid --nodes "501"; expected at most 500`},
		{[]string{"bench", "gossip", "--topology", "ring"}, `invalid --topology "ring"; expected line, star or random`},
		{[]string{"bench", "gossip", "--topology", ""}, `invalid --topology ""; expected line, star or random`},
		{[]string{"bench", "gossip", "--churn", "1"}, `invalid --churn "1"; expected a fraction from 0 to below 1, e.g. 0.2`},
		{[]string{"bench", "gossip", "--churn", "-0.1"}, `invalid --churn "-0.1"; expected a fraction from 0 to below 1`},
		{[]string{"bench", "gossip", "--churn", "NaN"}, `invalid --churn "NaN"; expected a fraction from 0 to below 1`},
		{[]string{"bench", "gossip", "--log.level", "loud"}, `invalid --log.level "loud"; expected debug, info, warn or error`},
		{[]string{"devnet", "--block-time", "0s"}, `invalid --block-time "0s"; expected a duration between 1ms and 1h`},
		{[]string{"devnet", "--block-time", "-1s"}, `invalid --block-time "-1s"`},
		{[]string{"devnet", "--duration", "-1s"}, `invalid --duration "-1s"; expected 0 (until Ctrl-C) or a positive duration`},
		{[]string{"devnet", "--full", "-1"}, `invalid --full "-1"; expected at least 0`},
		{[]string{"devnet", "--light", "-1"}, `invalid --light "-1"; expected at least 0`},
		{[]string{"devnet", "--full", "1000"}, `invalid --full "1000"; expected at most 62`},
		{[]string{"devnet", "--api-port-base", "-1"}, `invalid --api-port-base "-1"; expected at least 0`},
		{[]string{"devnet", "--api-port-base", "65535"}, `invalid --api-port-base "65535"; expected at most 65533`},
		{[]string{"devnet", "--chain-id", ""}, `invalid --chain-id ""`},
		{[]string{"devnet", "--chain-id", "çhåin-ü"}, `contains 'ç'`},
		{[]string{"devnet", "--log.level", "loud"}, `invalid --log.level "loud"`},
		{[]string{"devnet", "--light-retain", "-1"}, `invalid --light-retain "-1"; expected 0 (keep every header) or how many headers to keep`},
		// start's flags override config keys and are checked as those keys.
		{[]string{"start", "--home", home, "--block-time", "0s"}, `invalid block_time "0s"; expected a duration between 1ms and 1h`},
		{[]string{"start", "--home", home, "--block-time", "-1s"}, `invalid block_time "-1s"`},
		{[]string{"start", "--home", home, "--log.level", "loud"}, `invalid log.level "loud"`},
		{[]string{"start", "--home", lightHome, "--sync-from", "tip"}, `invalid sync_from "tip"; expected genesis or head`},
		{[]string{"start", "--home", lightHome, "--sync-from", ""}, `invalid sync_from ""; expected genesis or head`},
		{[]string{"start", "--home", home, "--sync-from", "head"}, `invalid sync_from "head"; expected genesis on a sequencer, which starts the chain itself`},
		{[]string{"start", "--home", home, "--retain-headers", "100"}, `invalid retain_headers "100"; expected 0 on a sequencer: a sequencer keeps its whole chain`},
		// No config key holds a negative window: the flag is refused by name.
		{[]string{"start", "--home", lightHome, "--retain-headers", "-1"}, `invalid --retain-headers "-1"; expected 0 (keep every header) or how many headers to keep`},
		{[]string{"start", "--home", lightHome, "--p2p.max-peers", "4"}, `invalid p2p.max_peers "4"; expected 0 (the default, 32) or at least 8`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, &out, &errOut)
			require.Equal(t, 1, code, "stdout: %s", out.String())
			require.Contains(t, errOut.String(), tc.want)
			require.Equal(t, 1, strings.Count(errOut.String(), "\n"), "one line: %q", errOut.String())
			require.Empty(t, out.String())
		})
	}
}

// devnet on an existing home runs, and prints, the chain stored there; an
// explicit --chain-id naming another is refused rather than ignored.
func TestDevnetHomeKeepsItsChain(t *testing.T) {
	home := filepath.Join(t.TempDir(), "dn")
	out := mustCLI(t, "devnet", "--home", home, "--full", "0", "--light", "0", "--chain-id", "first", "--duration", "300ms", "--block-time", "100ms")
	require.Contains(t, out, "devnet: chain first,")
	out = mustCLI(t, "devnet", "--home", home, "--full", "0", "--light", "0", "--duration", "300ms", "--block-time", "100ms")
	require.Contains(t, out, "devnet: chain first,", "the stored chain, not the default")
	_, errOut, code := cli(t, "devnet", "--home", home, "--full", "0", "--light", "0", "--chain-id", "other", "--duration", "300ms")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `invalid --chain-id "other"; expected first, the chain of the devnet in`)
}

// start's --sync-from and --retain-headers override config.toml's keys when
// given, and leave them as the file says when not.
func TestFlagsOverrideSyncFromAndRetainHeaders(t *testing.T) {
	fromFile := config.Default(config.RoleLight, "gm")
	fromFile.SyncFrom, fromFile.RetainHeaders = config.SyncFromHead, 500
	for _, tc := range []struct {
		args       []string
		wantFrom   config.SyncFrom
		wantRetain uint64
	}{
		{nil, config.SyncFromHead, 500},
		{[]string{"--sync-from", "genesis"}, config.SyncFromGenesis, 500},
		{[]string{"--retain-headers", "0"}, config.SyncFromHead, 0},
		{[]string{"--sync-from=genesis", "--retain-headers=20"}, config.SyncFromGenesis, 20},
		{[]string{"--retain-headers", "1000000"}, config.SyncFromHead, 1_000_000},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var f startFlags
			fs := pflag.NewFlagSet("start", pflag.ContinueOnError)
			f.register(fs)
			require.NoError(t, fs.Parse(tc.args))
			cfg := fromFile
			require.NoError(t, f.apply(&cfg))
			require.Equal(t, tc.wantFrom, cfg.SyncFrom)
			require.Equal(t, tc.wantRetain, cfg.RetainHeaders)
			require.NoError(t, cfg.Validate())
		})
	}
}

// bench gossip's flags reach the benchmark: its last line names the
// topology and churn asked for, and --cpuprofile writes a profile.
func TestBenchGossipFlags(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("bench gossip measures the process on Linux only")
	}
	profile := filepath.Join(t.TempDir(), "cpu.prof")
	var out, errOut bytes.Buffer
	code := run([]string{"bench", "gossip", "--nodes", "4", "--topology", "star", "--churn", "0.34", "--seed", "3",
		"--block-time", "50ms", "--blocks", "12", "--cpuprofile", profile}, &out, &errOut)
	require.Equal(t, 0, code, "stderr: %s", errOut.String())
	require.Regexp(t, `^gossip nodes=4 topology=star churn=0.34 block_time=50ms p50_ms=\d+\.\d\d p99_ms=\d+\.\d\d max_ms=\d+\.\d\d missed=\d+ cpu_cores=\d+\.\d\d rss_mb_per_node=\d+\.\d\n$`, out.String())
	fi, err := os.Stat(profile)
	require.NoError(t, err)
	require.Positive(t, fi.Size(), "a CPU profile of the publishing phase")
}
