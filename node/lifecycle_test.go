package node

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/headersync/headersync/api"
	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/testlog"
)

// stopDeadline bounds a Stop in these tests: one that takes longer is a
// bug, reported rather than waited for.
const stopDeadline = 10 * time.Second

func stopWithin(t *testing.T, n *Node) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stopDeadline)
	defer cancel()
	err := n.Stop(ctx)
	require.NoError(t, ctx.Err(), "Stop took longer than %s", stopDeadline)
	return err
}

// newIdleSequencer builds, without starting, a sequencer on a fresh chain
// whose producer never ticks by itself.
func newIdleSequencer(t *testing.T, apiListen string) *Node {
	t.Helper()
	c := newChain(t)
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	require.NoError(t, err)
	cfg := config.Default(config.RoleSequencer, c.genesis.ChainID)
	cfg.BlockTime = config.Duration(time.Hour)
	cfg.P2P.ListenAddress = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.API.Listen = apiListen
	n, err := New(Options{Config: cfg, Genesis: c.genesis, Identity: key, Signer: c.signer, SigningState: c.state,
		Datastore: memStore(t), Logger: testlog.New(t, slog.LevelInfo)})
	require.NoError(t, err)
	return n
}

func TestNodeStopBeforeStart(t *testing.T) {
	n := newIdleSequencer(t, "127.0.0.1:0")
	require.NoError(t, stopWithin(t, n))
	require.NoError(t, stopWithin(t, n), "a second Stop is harmless")
	require.ErrorIs(t, n.Start(context.Background()), ErrStopped)
}

func TestNodeStartTwice(t *testing.T) {
	n := newIdleSequencer(t, "127.0.0.1:0")
	require.NoError(t, n.Start(context.Background()))
	require.ErrorIs(t, n.Start(context.Background()), ErrAlreadyStarted)
	require.NoError(t, stopWithin(t, n))
	require.NoError(t, stopWithin(t, n), "a second Stop is harmless")
	require.ErrorIs(t, n.Start(context.Background()), ErrStopped)
}

// The API starts last, so a taken API port fails Start after everything
// else has started: all of it is stopped again before Start returns.
func TestNodeFailedStartLeavesNothingRunning(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()

	// The in-memory database the test hands the node runs goroutines of
	// its own until the test closes it: those are not the node's.
	n := newIdleSequencer(t, taken.Addr().String())
	own := goleak.IgnoreCurrent()
	require.ErrorIs(t, n.Start(context.Background()), api.ErrAddrInUse)
	goleak.VerifyNone(t, own) // before Stop: the failed Start cleaned up by itself
	require.NoError(t, stopWithin(t, n), "Stop after a failed Start is a no-op")
}

// Start's context bounds only the start: cancelling it later stops nothing.
func TestNodeStartContextDoesNotBoundLifetime(t *testing.T) {
	n := newIdleSequencer(t, "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, n.Start(ctx))
	t.Cleanup(func() { require.NoError(t, stopWithin(t, n)) })
	cancel()

	// A producer tick after the cancel still makes a block: the node's own
	// goroutines and components run on.
	require.NoError(t, n.producer.produce(context.Background()))
	client, err := api.NewClient("http://" + n.APIAddr())
	require.NoError(t, err)
	st, err := client.Status(context.Background())
	require.NoError(t, err)
	require.Equal(t, "sequencer", st.Role)
	require.NotEmpty(t, n.P2P().Addrs(), "the p2p client still runs")
}

// A Stop whose context ends while something is stuck returns promptly with
// the context's error; the teardown completes once the holdup clears, and
// a later Stop waits for it.
func TestNodeStopHonoursContext(t *testing.T) {
	n := newIdleSequencer(t, "127.0.0.1:0")
	require.NoError(t, n.Start(context.Background()))
	release := make(chan struct{})
	n.goRun(context.Background(), func(context.Context) { <-release }) // ignores its context

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	began := time.Now()
	err := n.Stop(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(began), stopDeadline, "Stop outlived its context")

	close(release)
	require.NoError(t, stopWithin(t, n))
}
