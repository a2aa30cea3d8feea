package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/api"
)

// `headersync peers` lists a full node's peers as its API reports them:
// the sequencer it dialled serves both exchanges, the light node that
// dialled it serves headers only, and a node of another chain is shown —
// and logged once — with its chain.
func TestPeersCommand(t *testing.T) {
	seqHome, fullHome, lightHome := homes(t)
	otherHome := filepath.Join(t.TempDir(), "other")
	mustCLI(t, "init", "--home", otherHome, "--chain-id", "other", "--role", "sequencer")
	seqPorts, fullPorts, lightPorts, otherPorts := newPorts(t), newPorts(t), newPorts(t), newPorts(t)
	seqID, fullID := mustCLI(t, "node-id", "--home", seqHome), mustCLI(t, "node-id", "--home", fullHome)
	lightID, otherID := mustCLI(t, "node-id", "--home", lightHome), mustCLI(t, "node-id", "--home", otherHome)

	seq := start(t, "sequencer", seqHome, seqPorts)
	full := start(t, "full", fullHome, fullPorts, "--p2p.seeds", seqPorts.seed(seqID))
	light := start(t, "light", lightHome, lightPorts, "--p2p.seeds", fullPorts.seed(fullID))
	other := start(t, "other", otherHome, otherPorts, "--p2p.seeds", fullPorts.seed(fullID))
	waitHeight(t, 5, seq, full, light)

	peerOf := func(peers []api.PeerStatus, id string) (api.PeerStatus, bool) {
		for _, p := range peers {
			if p.ID == id {
				return p, true
			}
		}
		return api.PeerStatus{}, false
	}
	var peers []api.PeerStatus
	poll(t, func() (bool, error) {
		out, _, code, err := tryCLI("peers", "--api", fullPorts.apiURL(), "--json")
		if err != nil {
			return false, err
		}
		if code != 0 || json.Unmarshal([]byte(out), &peers) != nil {
			return false, nil
		}
		s, okS := peerOf(peers, seqID)
		l, okL := peerOf(peers, lightID)
		o, okO := peerOf(peers, otherID)
		return okS && okL && okO && s.Services["header"].Serves && s.Services["block"].Serves &&
			l.Services["header"].Serves && o.Chain == "other", nil
	}, "peers: %+v", peers)

	s, _ := peerOf(peers, seqID)
	require.Equal(t, "outbound", s.Direction)
	require.Contains(t, s.Addr, "/tcp/")
	l, _ := peerOf(peers, lightID)
	require.Equal(t, "inbound", l.Direction)
	require.False(t, l.Services["block"].Serves, "a light node has no block exchange")
	o, _ := peerOf(peers, otherID)
	require.False(t, o.Services["header"].Serves)

	table := mustCLI(t, "peers", "--api", fullPorts.apiURL())
	lines := strings.Split(table, "\n")
	require.Regexp(t, `^PEER\s+ADDRESS\s+DIRECTION\s+LATENCY\s+HEADER\s+BLOCK\s+CHAIN$`, lines[0])
	rowOf := func(id string) string {
		for _, line := range lines {
			if strings.HasPrefix(line, id) {
				return line
			}
		}
		t.Fatalf("no row for %s in\n%s", id, table)
		return ""
	}
	require.Regexp(t, `outbound\s+\S+\s+serves\s+serves\s+gm$`, rowOf(seqID))
	require.Regexp(t, `inbound\s+\S+\s+serves\s+no\s+gm$`, rowOf(lightID))
	require.Regexp(t, `\s+no\s+no\s+other$`, rowOf(otherID))

	other.terminate()
	full.terminate()
	log, err := os.ReadFile(full.log.Name())
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(log), "peer runs another chain"), "logged once:\n%s", log)
	require.Contains(t, string(log), "its_chain=other")
	light.terminate()
	seq.terminate()
}
