package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A sequencer stopped with SIGINT before producing a block keeps the
// transactions it accepted, and after a restart includes each in exactly
// one block.
func TestQueuedTxsSurviveSIGINT(t *testing.T) {
	home, ports := sequencerHome(t), newPorts(t)
	// No block in an hour: the transactions can only be in the queue.
	seq := start(t, "sequencer", home, ports, "--block-time", "1h")
	txs := []string{"tx-a", "tx-b", "tx-c"}
	for _, tx := range txs {
		submit(t, seq, tx)
	}
	st := seq.status()
	require.Equal(t, len(txs), st.Sequencer.PendingTxs)
	require.Zero(t, st.Blocks.Height)
	seq.interrupt()

	seq = start(t, "sequencer (restarted)", home, ports, "--block-time", "50ms")
	seq.requireLogged("replayed queued transactions", "count=3")
	requireIncludedOnce(t, seq, txs, nil)
	seq.interrupt()
}

// A sequencer killed with SIGKILL right after a 202 includes every
// transaction it accepted in exactly one block after a restart: killed with
// them only queued, and killed again and again while it produces a block
// every 20 ms and clients submit concurrently, aiming at the moment between
// journaling a block and storing it.
func TestAcceptedTxsSurviveKill9(t *testing.T) {
	t.Run("queued", func(t *testing.T) {
		home, ports := sequencerHome(t), newPorts(t)
		seq := start(t, "sequencer", home, ports, "--block-time", "1h")
		txs := []string{"tx-a", "tx-b", "tx-c"}
		for _, tx := range txs {
			submit(t, seq, tx)
		}
		seq.kill9()

		seq = start(t, "sequencer (restarted)", home, ports, "--block-time", "50ms")
		seq.requireLogged("replayed queued transactions", "count=3")
		requireIncludedOnce(t, seq, txs, nil)
		seq.interrupt()
	})
	t.Run("producing", func(t *testing.T) {
		const (
			rounds    = 3
			clients   = 4
			perRound  = 40 // accepted transactions before the kill
			blockTime = "20ms"
		)
		home, ports := sequencerHome(t), newPorts(t)
		var accepted, unanswered []string
		recovered := 0 // restarts that published a journaled block
		for r := 0; r <= rounds; r++ {
			seq := start(t, fmt.Sprintf("sequencer (run %d)", r), home, ports, "--block-time", blockTime)
			if seq.logged("recovered block from the journal") {
				recovered++
			}
			if r == rounds {
				requireIncludedOnce(t, seq, accepted, unanswered)
				seq.interrupt()
				break
			}
			acc, unans := submitThenKill(t, seq, fmt.Sprintf("run%d", r), clients, perRound)
			accepted, unanswered = append(accepted, acc...), append(unanswered, unans...)
		}
		t.Logf("%d of %d kills fell between journaling a block and storing it", recovered, rounds)
	})
}

// sequencerHome initialises a sequencer's home.
func sequencerHome(t *testing.T) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "seq")
	mustCLI(t, "init", "--home", home, "--chain-id", "gm", "--role", "sequencer")
	return home
}

// submit posts tx and requires it accepted.
func submit(t *testing.T, p *proc, tx string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := p.api.SubmitTx(ctx, []byte(tx))
	require.NoError(t, err, "submit %q", tx)
}

// submitThenKill posts distinct transactions named after prefix from
// several clients at once, kills the node with SIGKILL as soon as want have
// been accepted, and returns those accepted and those whose request got no
// answer (the node may have queued them).
func submitThenKill(t *testing.T, p *proc, prefix string, clients, want int) (accepted, unanswered []string) {
	t.Helper()
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		enough = make(chan struct{})
	)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each client stops at its first failure: the kill.
			for i := 0; ; i++ {
				tx := fmt.Sprintf("%s-c%d-%d", prefix, c, i)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := p.api.SubmitTx(ctx, []byte(tx))
				cancel()
				mu.Lock()
				if err != nil {
					unanswered = append(unanswered, tx)
					mu.Unlock()
					return
				}
				accepted = append(accepted, tx)
				if len(accepted) == want {
					close(enough)
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-enough:
		// Let blocks take from the queue while the clients go on, then
		// try to kill with a block journaled but not yet on disk: the
		// restart must publish it from the journal and not queue its
		// transactions again.
		_, from := p.heights()
		if !waitUntil(func() bool { _, b := p.heights(); return b >= from+2 }) {
			t.Errorf("%s produced no blocks from height %d", p.name, from)
		}
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
			if st, ok := p.tryStatus(); ok && st.Blocks.Height > st.Blocks.DurableHeight {
				break
			}
		}
	case <-time.After(waitFor):
		t.Errorf("%s: fewer than %d transactions accepted in %s", p.name, want, waitFor)
	}
	p.kill9()
	wg.Wait()
	return accepted, unanswered
}

// requireIncludedOnce waits until the sequencer has included every accepted
// transaction and drained its queue, then requires each accepted one in
// exactly one block, each unanswered one in at most one, and nothing else.
func requireIncludedOnce(t *testing.T, p *proc, accepted, unanswered []string) {
	t.Helper()
	s := blockScan{p: p, counts: map[string]int{}}
	require.Eventually(t, func() bool {
		if !s.scan() {
			return false
		}
		for _, tx := range accepted {
			if s.counts[tx] == 0 {
				return false
			}
		}
		st, ok := p.tryStatus()
		return ok && st.Sequencer != nil && st.Sequencer.PendingTxs == 0
	}, waitFor, tick, "%s did not include every accepted transaction (last scan error: %v)", p.name, s.err)

	// A transaction queued twice would come in a later block: let a few
	// pass, then count every block afresh.
	seen := s.next - 1
	require.Eventually(t, func() bool { _, b := p.heights(); return b >= seen+3 }, waitFor, tick)
	s = blockScan{p: p, counts: map[string]int{}}
	require.True(t, s.scan(), "scan %s's blocks: %v", p.name, s.err)

	want := map[string]bool{}
	for _, tx := range accepted {
		want[tx] = true
		require.Equal(t, 1, s.counts[tx], "accepted transaction %q in %d blocks", tx, s.counts[tx])
	}
	for _, tx := range unanswered {
		want[tx] = true
		require.LessOrEqual(t, s.counts[tx], 1, "transaction %q in %d blocks", tx, s.counts[tx])
	}
	for tx := range s.counts {
		require.True(t, want[tx], "block holds transaction %q that was never sent", tx)
	}
	t.Logf("%d accepted and %d unanswered transactions; %d included, in blocks 1..%d",
		len(accepted), len(unanswered), len(s.counts), s.next-1)
}

// blockScan counts the transactions of a node's blocks, resuming where the
// last scan stopped.
type blockScan struct {
	p      *proc
	next   uint64 // next height to read; 0 before the first scan
	counts map[string]int
	err    error // of the last scan that failed
}

// scan reads the blocks from next to the node's block head; it reports
// false if the node did not answer.
func (s *blockScan) scan() bool {
	if s.next == 0 {
		s.next = 1
	}
	_, head := s.p.heights()
	for ; s.next <= head; s.next++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		b, err := s.p.api.Block(ctx, s.next)
		cancel()
		if err != nil {
			s.err = fmt.Errorf("block %d: %w", s.next, err)
			return false
		}
		for _, tx := range b.Txs {
			s.counts[string(tx)]++
		}
	}
	return true
}

// waitUntil polls cond until it holds or waitFor passes, and reports which.
// Unlike require.Eventually it does not fail the test, so the caller can
// clean up first.
func waitUntil(cond func() bool) bool {
	for deadline := time.Now().Add(waitFor); time.Now().Before(deadline); time.Sleep(tick) {
		if cond() {
			return true
		}
	}
	return false
}

// requireLogged requires a line of the node's log to hold every part.
func (p *proc) requireLogged(parts ...string) {
	p.t.Helper()
	if !p.logged(parts...) {
		p.t.Fatalf("%s logged no line with %q", p.name, parts)
	}
}

// logged reports whether a line of the node's log holds every part.
func (p *proc) logged(parts ...string) bool {
	p.t.Helper()
	data, err := os.ReadFile(p.log.Name())
	require.NoError(p.t, err)
	for _, line := range strings.Split(string(data), "\n") {
		found := true
		for _, part := range parts {
			found = found && strings.Contains(line, part)
		}
		if found {
			return true
		}
	}
	return false
}
