package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// logLines reads a node's log and requires every line to be a JSON object
// with slog's keys.
func logLines(t *testing.T, p *proc) []map[string]any {
	t.Helper()
	out, err := readLogLines(p)
	require.NoError(t, err)
	return out
}

// readLogLines is logLines for code off the test goroutine.
func readLogLines(p *proc) ([]map[string]any, error) {
	data, err := os.ReadFile(p.log.Name())
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return nil, fmt.Errorf("%s: not a JSON line: %q: %w", p.name, line, err)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := m[k]; !ok {
				return nil, fmt.Errorf("%s: line without %q: %q", p.name, k, line)
			}
		}
		out = append(out, m)
	}
	return out, nil
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

// waitLogged waits until p's JSON log has a line with message msg (and the
// service, if given) and returns it.
func waitLogged(t *testing.T, p *proc, msg, service string) map[string]any {
	t.Helper()
	var found map[string]any
	poll(t, func() (bool, error) {
		lines, err := readLogLines(p)
		if err != nil {
			return false, err
		}
		for _, l := range lines {
			if l["msg"] == msg && (service == "" || l["service"] == service) {
				found = l
				return true, nil
			}
		}
		return false, nil
	}, "%s never logged %q", p.name, msg)
	return found
}

// A short catch-up is visible in the log: its start with the target, at
// least one progress line, its end with the time it took. A node whose
// sequencer stops warns that no header arrives; restarted, it says where
// it resumed.
func TestCatchupProgressStallAndResumeAreLogged(t *testing.T) {
	seqHome, fullHome, _ := homes(t)
	seqPorts, fullPorts := newPorts(t), newPorts(t)
	seqID := mustCLI(t, "node-id", "--home", seqHome)
	jsonLog := []string{"--log.format", "json", "--log.level", "info"}

	seq := start(t, "sequencer", seqHome, seqPorts, jsonLog...)
	waitHeight(t, 40, seq)
	full := start(t, "full", fullHome, fullPorts, append([]string{"--p2p.seeds", seqPorts.seed(seqID)}, jsonLog...)...)

	began := waitLogged(t, full, "catching up", "header")
	require.GreaterOrEqual(t, began["target"], float64(40))
	progress := waitLogged(t, full, "catch-up progress", "header")
	require.Contains(t, progress, "headers_per_s")
	require.Contains(t, progress, "eta")
	done := waitLogged(t, full, "caught up", "header")
	require.Contains(t, done, "took")

	seq.terminate()
	stalled := waitLogged(t, full, "no new header", "header")
	require.Positive(t, stalled["height"])
	full.terminate()

	again := start(t, "full-again", fullHome, fullPorts, append([]string{"--p2p.seeds", seqPorts.seed(seqID)}, jsonLog...)...)
	resumed := waitLogged(t, again, "resumed from height", "header")
	require.GreaterOrEqual(t, resumed["height"], float64(40))
	again.terminate()
}
