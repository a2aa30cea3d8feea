package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// logLines reads a node's log and requires every line to be a JSON object
// with slog's keys.
func logLines(t *testing.T, p *proc) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(p.log.Name())
	require.NoError(t, err)
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "%s: not a JSON line: %q", p.name, line)
		for _, k := range []string{"time", "level", "msg"} {
			require.Contains(t, m, k, "%s: line without %q: %q", p.name, k, line)
		}
		out = append(out, m)
	}
	return out
}

// With --log.format json, every line a node writes is JSON — go-header's
// and libp2p's included — and --log.level holds for them too.
func TestLogFormatJSONCoversLibraries(t *testing.T) {
	seqHome, fullHome, _ := homes(t)
	seqPorts, fullPorts := newPorts(t), newPorts(t)
	seqID := mustCLI(t, "node-id", "--home", seqHome)

	seq := start(t, "sequencer", seqHome, seqPorts, "--log.format", "json", "--log.level", "error")
	full := start(t, "full", fullHome, fullPorts, "--p2p.seeds", seqPorts.seed(seqID),
		"--log.format", "json", "--log.level", "debug")
	waitHeight(t, 10, seq, full)
	full.terminate()
	seq.terminate()

	for _, l := range logLines(t, seq) {
		require.Equal(t, "ERROR", l["level"], "sequencer at --log.level error: %v", l)
	}
	var fromLibrary int
	for _, l := range logLines(t, full) {
		if _, ok := l["logger"]; ok {
			fromLibrary++
		}
	}
	// At debug, go-header's info lines ("new head", "syncing headers") are
	// in the log: the bridge is what put them there as JSON.
	require.Positive(t, fromLibrary, "no go-header or libp2p line in the full node's JSON log")
}
