package main

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/api"
)

// homes initialises a sequencer, a full and a light node's homes.
func homes(t *testing.T) (seq, full, light string) {
	t.Helper()
	dir := t.TempDir()
	seq, full, light = filepath.Join(dir, "seq"), filepath.Join(dir, "full"), filepath.Join(dir, "light")
	mustCLI(t, "init", "--home", seq, "--chain-id", "gm", "--role", "sequencer")
	genesis := filepath.Join(seq, "genesis.json")
	mustCLI(t, "init", "--home", full, "--role", "full", "--genesis", genesis)
	mustCLI(t, "init", "--home", light, "--role", "light", "--genesis", genesis)
	return seq, full, light
}

// three is a sequencer, a full node seeded by it and a light node seeded
// only by the full node, each its own process.
type three struct {
	seqHome, fullHome, lightHome    string
	seqPorts, fullPorts, lightPorts nodePorts
	seqID, fullID                   string
	seq, full, light                *proc
}

// startThree starts a sequencer, a full and a light node, and waits until
// all three reach height.
func startThree(t *testing.T, height uint64) *three {
	t.Helper()
	n := &three{seqPorts: newPorts(t), fullPorts: newPorts(t), lightPorts: newPorts(t)}
	n.seqHome, n.fullHome, n.lightHome = homes(t)
	n.seqID, n.fullID = mustCLI(t, "node-id", "--home", n.seqHome), mustCLI(t, "node-id", "--home", n.fullHome)
	n.seq = start(t, "sequencer", n.seqHome, n.seqPorts)
	n.full = start(t, "full", n.fullHome, n.fullPorts, "--p2p.seeds", n.seqPorts.seed(n.seqID))
	n.light = start(t, "light", n.lightHome, n.lightPorts, "--p2p.seeds", n.fullPorts.seed(n.fullID))
	waitHeight(t, height, n.seq, n.full, n.light)
	return n
}

// Three processes — a sequencer, a full node seeded by it, a light node
// seeded only by the full node — converge on one chain. The full node killed
// with SIGKILL restarts from what it stored, loses nothing and catches up.
func TestThreeProcessesConvergeAndSurviveKill9(t *testing.T) {
	net := startThree(t, 20)
	seq, full, light := net.seq, net.full, net.light

	// The light node keeps no blocks; the full node's blocks match its headers.
	_, err := light.api.Block(context.Background(), 1)
	var httpErr *api.HTTPError
	require.True(t, errors.As(err, &httpErr), "light node block request: %v", err)
	require.Equal(t, 404, httpErr.StatusCode)
	require.Nil(t, light.status().Blocks)
	for h := uint64(1); h <= 20; h++ {
		b, err := full.api.Block(context.Background(), h)
		require.NoError(t, err)
		ref := strconv.FormatUint(h, 10)
		require.Equal(t, full.header(ref).Hash, b.Header.Hash, "block %d", h)
		require.Equal(t, seq.header(ref).Hash, b.Header.Hash, "block %d", h)
	}

	// Crash the full node once everything it reports is on disk.
	var stored uint64
	require.Eventually(t, func() bool {
		st, ok := full.tryStatus()
		if !ok {
			return false
		}
		stored = st.Headers.Height
		return stored >= 20 && st.Headers.DurableHeight == stored && st.Blocks.DurableHeight >= stored
	}, waitFor, tick)
	full.kill9()

	full = start(t, "full (restarted)", net.fullHome, net.fullPorts, "--p2p.seeds", net.seqPorts.seed(net.seqID))
	require.GreaterOrEqual(t, full.status().Headers.Height, stored, "the restart lost stored headers")
	for h := uint64(1); h <= stored; h++ {
		ref := strconv.FormatUint(h, 10)
		require.Equal(t, seq.header(ref).Hash, full.header(ref).Hash, "header %d after restart", h)
	}
	waitHeight(t, seq.height(), full, light)

	// Stop the sequencer: everyone ends on the same head.
	last := seq.height()
	seq.terminate()
	poll(t, func() (bool, error) {
		f, err := full.tryHeader("head")
		if err != nil {
			return false, err
		}
		l, err := light.tryHeader("head")
		if err != nil {
			return false, err
		}
		return f.Height >= last && f.Hash.String() == l.Hash.String(), nil
	}, "full and light never agreed on the head")
	full.terminate()
	light.terminate()
}
