package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pinHashes returns the hashes node p holds at heights 1..to.
func pinHashes(t *testing.T, p *proc, to uint64) map[uint64]string {
	t.Helper()
	pinned := make(map[uint64]string, to)
	for h := uint64(1); h <= to; h++ {
		pinned[h] = p.header(strconv.FormatUint(h, 10)).Hash.String()
	}
	return pinned
}

// requirePinned requires every node to hold exactly the pinned hashes.
func requirePinned(t *testing.T, pinned map[uint64]string, nodes ...*proc) {
	t.Helper()
	for _, p := range nodes {
		for h, want := range pinned {
			require.Equal(t, want, p.header(strconv.FormatUint(h, 10)).Hash.String(), "%s: height %d was signed twice", p.name, h)
		}
	}
}

// requireSameHead waits until every node holds the sequencer's header at
// the sequencer's current height.
func requireSameHead(t *testing.T, seq *proc, nodes ...*proc) {
	t.Helper()
	target := seq.height()
	waitHeight(t, target, nodes...)
	ref := strconv.FormatUint(target, 10)
	want := seq.header(ref).Hash.String()
	for _, p := range nodes {
		require.Equal(t, want, p.header(ref).Hash.String(), "%s at height %d", p.name, target)
	}
}

// A sequencer whose data/ is wiped must not sign its heights again: it
// syncs its chain back from its peers, checks that the chain links to the
// last block it signed, and extends it. The full and light nodes keep one
// chain and keep following it (they would ban a forking sequencer).
func TestWipedSequencerRecoversWithoutForking(t *testing.T) {
	net := startThree(t, 20)
	seq, full, light := net.seq, net.full, net.light
	seqHome, fullHome := net.seqHome, net.fullHome

	seq.kill9()
	signed := full.height()
	pinned := pinHashes(t, full, signed)
	require.NoError(t, os.RemoveAll(filepath.Join(seqHome, "data")))

	seq = start(t, "sequencer (wiped)", seqHome, net.seqPorts)
	st := seq.status()
	require.GreaterOrEqual(t, st.Sequencer.SignedHeight, signed, "the signing state outlived data/")
	require.Eventually(t, func() bool { return seq.height() >= signed+10 }, waitFor, tick,
		"the wiped sequencer never resumed production (at %d)", seq.height())
	st = seq.status()
	require.Zero(t, st.Sequencer.WaitingForHeight)
	require.Empty(t, st.Sequencer.Halted)

	requirePinned(t, pinned, seq, full, light)
	requireSameHead(t, seq, full, light)
	for _, p := range []*proc{full, light} {
		st := p.status()
		require.Zero(t, st.Headers.Gossip.Rejected, "%s rejected gossip: a forked header", p.name)
	}
	light.terminate()
	full.terminate()
	seq.terminate()
	requireStoredAtLeast(t, signed+10, seqHome, fullHome)
}

// A sequencer restored from an older copy of its data/, with no peer up,
// waits, says what height it needs in its log and status, and signs
// nothing; once a full node holding the chain connects, it recovers the
// chain from it and extends it.
func TestRestoredSequencerWaitsForPeers(t *testing.T) {
	seqHome, fullHome, _ := homes(t)
	seqPorts, fullPorts := newPorts(t), newPorts(t)
	seqID := mustCLI(t, "node-id", "--home", seqHome)
	seeds := []string{"--p2p.seeds", seqPorts.seed(seqID)}
	dataDir := filepath.Join(seqHome, "data")
	backup := filepath.Join(t.TempDir(), "data-backup")

	seq := start(t, "sequencer", seqHome, seqPorts)
	waitHeight(t, 10, seq)
	seq.terminate()
	require.NoError(t, os.CopyFS(backup, os.DirFS(dataDir)))
	backedUp := checkHome(t, seqHome).blocks

	seq = start(t, "sequencer", seqHome, seqPorts)
	full := start(t, "full", fullHome, fullPorts, seeds...)
	waitHeight(t, backedUp+20, seq, full)
	full.terminate()
	seq.kill9()
	signed := checkHome(t, fullHome).headers
	require.NoError(t, os.RemoveAll(dataDir))
	require.NoError(t, os.CopyFS(dataDir, os.DirFS(backup)))

	seq = start(t, "sequencer (restored)", seqHome, seqPorts)
	var st = seq.status()
	require.GreaterOrEqual(t, st.Sequencer.SignedHeight, signed)
	need := st.Sequencer.SignedHeight - 1
	require.Equal(t, need, st.Sequencer.WaitingForHeight, "status names the height it needs")
	require.Equal(t, backedUp, st.Blocks.Height, "it starts from the restored store")
	require.True(t, st.Blocks.Recovering)
	log, err := os.ReadFile(seq.log.Name())
	require.NoError(t, err)
	require.Contains(t, string(log), "need_height="+strconv.FormatUint(need, 10), "the log names the height it needs")
	// Nothing is produced meanwhile: several block times pass with the
	// store where the backup left it.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		st := seq.status()
		require.Zero(t, st.Sequencer.Produced)
		require.Equal(t, backedUp, st.Blocks.Height)
		time.Sleep(tick) // pacing the polls; nothing waits on it
	}

	full = start(t, "full (back)", fullHome, fullPorts, seeds...)
	require.Eventually(t, func() bool { return seq.height() >= signed+10 }, waitFor, tick,
		"the restored sequencer never resumed production (at %d)", seq.height())
	st = seq.status()
	require.Zero(t, st.Sequencer.WaitingForHeight)
	require.False(t, st.Blocks.Recovering)
	requireSameHead(t, seq, full)
	log, err = os.ReadFile(seq.log.Name())
	require.NoError(t, err)
	require.True(t, strings.Contains(string(log), "recovered the signed chain from peers"), "the log says it recovered")
	full.terminate()
	seq.terminate()
	requireStoredAtLeast(t, signed+10, seqHome, fullHome)
}
