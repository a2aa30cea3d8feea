package node_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/api"
	"github.com/headersync/headersync/internal/testlog"
	"github.com/headersync/headersync/internal/testnet"
	"github.com/headersync/headersync/node"
	"github.com/headersync/headersync/p2psync"
)

const (
	blockTime = 100 * time.Millisecond
	waitFor   = 30 * time.Second
	tick      = 20 * time.Millisecond
)

func startNet(t *testing.T, dir string, full, light int) *testnet.Network {
	t.Helper()
	net, err := testnet.Start(context.Background(), testnet.Options{
		Dir: dir, ChainID: "gm", Full: full, Light: light, BlockTime: blockTime,
		Logger: testlog.New(t, slog.LevelInfo),
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, net.Stop(context.Background())) })
	return net
}

// waitHeight waits until every member's header store reaches height.
func waitHeight(t *testing.T, net *testnet.Network, height uint64) {
	t.Helper()
	for _, m := range net.Members {
		require.Eventually(t, func() bool { return m.Node.Headers().Height() >= height }, waitFor, tick,
			"%s stuck at height %d", m.Name, m.Node.Headers().Height())
	}
}

// A sequencer, a full and a light node converge on one chain: the full node
// holds blocks matching its headers, with the submitted transactions; the
// light node holds headers only.
func TestRolesConverge(t *testing.T) {
	net := startNet(t, t.TempDir(), 1, 1)
	seq, full, light := net.Sequencer().Node, net.Full()[0].Node, net.Light()[0].Node
	ctx := context.Background()

	txs := [][]byte{[]byte("alpha"), []byte("beta"), []byte("gamma")}
	for _, tx := range txs {
		_, err := seq.SubmitTx(ctx, tx)
		require.NoError(t, err)
	}
	_, err := full.SubmitTx(ctx, []byte("x"))
	require.ErrorIs(t, err, api.ErrNotSequencer)

	const height = 20
	waitHeight(t, net, height)
	want, err := seq.HeaderByHeight(ctx, height)
	require.NoError(t, err)
	for _, m := range net.Members {
		got, err := m.Node.HeaderByHeight(ctx, height)
		require.NoError(t, err, m.Name)
		require.Equal(t, want.Hash(), got.Hash(), "%s has another header at %d", m.Name, height)
	}

	_, err = light.BlockByHeight(ctx, 1)
	require.ErrorIs(t, err, api.ErrNoBlocks)
	require.Nil(t, light.Status(ctx).Blocks)

	require.Eventually(t, func() bool { return full.Blocks().Height() >= height }, waitFor, tick)
	var included [][]byte
	for h := uint64(1); h <= height; h++ {
		b, err := full.BlockByHeight(ctx, h)
		require.NoError(t, err)
		hdr, err := full.HeaderByHeight(ctx, h)
		require.NoError(t, err)
		require.Equal(t, hdr.Hash(), b.Hash(), "block %d does not match header %d", h, h)
		included = append(included, b.Data().Txs...)
	}
	for _, tx := range txs {
		require.True(t, containsTx(included, tx), "tx %q never made it into a block", tx)
	}

	require.Eventually(t, func() bool { return full.Status(ctx).CrossCheck.CheckedHeight >= height }, waitFor, tick)
	st := full.Status(ctx)
	require.Zero(t, st.CrossCheck.Mismatches)
	require.Equal(t, "full", st.Role)
	require.Equal(t, "gm", st.ChainID)
	require.NotEmpty(t, st.Peers)
	require.True(t, st.Headers.Initialised)
	require.True(t, st.Blocks.Initialised)

	seqStatus := seq.Status(ctx)
	require.NotNil(t, seqStatus.Sequencer)
	require.GreaterOrEqual(t, seqStatus.Sequencer.Produced, uint64(height))
}

func containsTx(txs [][]byte, tx []byte) bool {
	for _, t := range txs {
		if bytes.Equal(t, tx) {
			return true
		}
	}
	return false
}

// A sequencer restarted on its home continues its chain from the stored head:
// no fork, no gap, no height signed twice.
func TestSequencerRestartContinuesChain(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	net, err := testnet.Start(ctx, testnet.Options{Dir: dir, ChainID: "gm", BlockTime: blockTime, Logger: testlog.New(t, slog.LevelInfo)})
	require.NoError(t, err)
	seq := net.Sequencer().Node
	require.Eventually(t, func() bool { return seq.Headers().Height() >= 5 }, waitFor, tick)
	stopped := seq.Headers().Height()
	require.NoError(t, net.Stop(ctx))
	_, err = seq.HeaderByHeight(ctx, 1)
	require.ErrorIs(t, err, p2psync.ErrNotRunning, "a stopped node serves nothing")

	net = startNet(t, dir, 0, 0)
	seq = net.Sequencer().Node
	require.GreaterOrEqual(t, seq.Headers().Height(), stopped)
	require.Eventually(t, func() bool { return seq.Headers().Height() >= stopped+5 }, waitFor, tick)
	for h := uint64(2); h <= stopped+5; h++ {
		prev, err := seq.HeaderByHeight(ctx, h-1)
		require.NoError(t, err)
		cur, err := seq.HeaderByHeight(ctx, h)
		require.NoError(t, err)
		require.NoError(t, prev.Verify(cur), "header %d does not extend %d", h, h-1)
		b, err := seq.BlockByHeight(ctx, h)
		require.NoError(t, err)
		require.Equal(t, cur.Hash(), b.Hash())
	}
}

// Cancelling the context a network was started with stops nothing: the
// nodes run until Stop (the lifecycle contract; this test used to assert
// the opposite), and Stop then stops them cleanly.
func TestContextCancelDoesNotStopNode(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	net, err := testnet.Start(ctx, testnet.Options{Dir: t.TempDir(), ChainID: "gm", BlockTime: blockTime, Logger: testlog.New(t, slog.LevelInfo)})
	require.NoError(t, err)
	url := net.Sequencer().APIURL() + "/healthz"
	healthy := func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	require.True(t, healthy())

	cancel()
	require.True(t, healthy(), "API stopped with the start context")
	stopCtx, stopCancel := context.WithTimeout(context.Background(), waitFor)
	defer stopCancel()
	require.NoError(t, net.Stop(stopCtx))
	require.NoError(t, stopCtx.Err(), "Stop took longer than %s", waitFor)
	require.False(t, healthy(), "API still serving after Stop")
	require.NoError(t, net.Stop(context.Background()), "a second Stop is a no-op")
}

func TestNodeIDIsStable(t *testing.T) {
	dir := t.TempDir()
	net := startNet(t, dir, 0, 0)
	id := net.Sequencer().Node.P2P().ID()
	require.NoError(t, net.Stop(context.Background()))
	net2 := startNet(t, dir, 0, 0)
	require.Equal(t, id, net2.Sequencer().Node.P2P().ID())
	require.False(t, errors.Is(nil, node.ErrHomeExists))
}
