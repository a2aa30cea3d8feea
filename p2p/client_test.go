package p2p

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// The configuration's own errors are config's (config/p2p_test.go); New
// checks only what a parsed Config can still get wrong.
func TestNewRejectsNoListenAddress(t *testing.T) {
	key, _ := newIdentity(t)
	c, err := New(Config{}, key, testChainID, nil, nil)
	require.ErrorContains(t, err, "no listen address")
	assert.Nil(t, c)
}

func TestNewClientRejectsBadArguments(t *testing.T) {
	key, _ := newIdentity(t)
	for _, chainID := range []string{"", "a/b", "a b", "a\x00"} {
		t.Run(fmt.Sprintf("chain %q", chainID), func(t *testing.T) {
			_, err := newClient(loopbackConfig(), key, chainID, nil, nil)
			require.ErrorIs(t, err, ErrInvalidChainID)
		})
	}
	t.Run("no key", func(t *testing.T) {
		_, err := newClient(loopbackConfig(), nil, testChainID, nil, nil)
		require.Error(t, err)
	})
	t.Run("not ed25519", func(t *testing.T) {
		other, _, err := crypto.GenerateSecp256k1Key(rand.Reader)
		require.NoError(t, err)
		_, err = newClient(loopbackConfig(), other, testChainID, nil, nil)
		require.Error(t, err)
	})
}

func TestClientLifecycle(t *testing.T) {
	defer goleak.VerifyNone(t)

	key, id := newIdentity(t)
	c, err := newClient(loopbackConfig(), key, testChainID, nil, nil)
	require.NoError(t, err)
	require.Equal(t, id, c.ID())
	require.NotNil(t, c.ConnectionGater(), "the gater exists before Start, for go-header")
	require.Nil(t, c.Host())
	require.Nil(t, c.PubSub())
	require.Empty(t, c.Peers())
	require.Empty(t, c.PeerIDs())
	require.Empty(t, c.Addrs())

	require.NoError(t, c.Start(context.Background()))
	require.ErrorIs(t, c.Start(context.Background()), ErrAlreadyStarted)
	require.Equal(t, id, c.Host().ID())
	require.NotNil(t, c.PubSub())
	require.Len(t, c.Addrs(), 2)

	require.NoError(t, stopWithin(t, c))
	require.NoError(t, stopWithin(t, c), "a second Stop is harmless")
	require.ErrorIs(t, c.Start(context.Background()), ErrStopped)
}

// stopWithin stops c with a deadline, so that a Stop that hangs fails the
// test instead of blocking it.
func stopWithin(t *testing.T, c *Client) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stopDeadline)
	defer cancel()
	err := c.Stop(ctx)
	require.NoError(t, ctx.Err(), "Stop took longer than %s", stopDeadline)
	return err
}

func TestStopBeforeStart(t *testing.T) {
	key, _ := newIdentity(t)
	c, err := newClient(loopbackConfig(), key, testChainID, nil, nil)
	require.NoError(t, err)
	require.NoError(t, stopWithin(t, c))
	require.NoError(t, stopWithin(t, c))
	require.ErrorIs(t, c.Start(context.Background()), ErrStopped)
}

func TestStopAfterFailedStart(t *testing.T) {
	defer goleak.VerifyNone(t)

	// A port held by a socket without SO_REUSEPORT cannot be listened on by
	// libp2p, which makes the host fail to start.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	cfg := loopbackConfig()
	cfg.ListenAddress = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", l.Addr().(*net.TCPAddr).Port)}

	key, _ := newIdentity(t)
	c, err := newClient(cfg, key, testChainID, nil, nil)
	require.NoError(t, err)
	require.Error(t, c.Start(context.Background()))
	require.Nil(t, c.Host())
	goleak.VerifyNone(t) // nothing runs before Stop is even called
	require.NoError(t, stopWithin(t, c))
	require.NoError(t, stopWithin(t, c))
}

func TestStartWithExpiredContext(t *testing.T) {
	defer goleak.VerifyNone(t)

	key, _ := newIdentity(t)
	c, err := newClient(loopbackConfig(), key, testChainID, nil, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, c.Start(ctx), context.Canceled)
	require.Nil(t, c.Host())
	require.NoError(t, stopWithin(t, c))
}

// Start's context bounds only the start: the client runs until Stop.
func TestStartContextDoesNotBoundLifetime(t *testing.T) {
	a := startClient(t, loopbackConfig(), nil, nil)
	key, _ := newIdentity(t)
	c, err := newClient(loopbackConfig(), key, testChainID, nil, testLogger(t))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, c.Start(ctx))
	t.Cleanup(func() { require.NoError(t, stopWithin(t, c)) })
	cancel()

	// Still running: it dials, and is dialled, after its start context ended.
	requireConnects(t, c, a)
	requireConnects(t, startClient(t, loopbackConfig(), nil, nil), c)
	select {
	case <-c.stopped:
		t.Fatal("the client stopped when its start context ended")
	default:
	}
}

// A Stop whose context ends before the teardown does returns at once with
// the context's error; the teardown finishes, and a later Stop waits for it.
func TestStopHonoursContext(t *testing.T) {
	defer goleak.VerifyNone(t)

	key, _ := newIdentity(t)
	c, err := newClient(loopbackConfig(), key, testChainID, nil, nil)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background()))
	// A loop that does not end by itself holds the teardown.
	release := make(chan struct{})
	c.loops.Go(func() { <-release })

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	began := time.Now()
	err = c.Stop(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(began), stopDeadline, "Stop outlived its context")

	close(release)
	require.NoError(t, stopWithin(t, c))
}

func TestNoGoroutineLeakAfterStop(t *testing.T) {
	defer goleak.VerifyNone(t)

	a := startClient(t, loopbackConfig(), nil, nil)
	b := startClient(t, loopbackConfig(addrWithAll(t, a)...), nil, nil)
	require.Eventually(t, func() bool { return connected(a, b) && connected(b, a) }, eventually, tick)
	// Stopping explicitly, before goleak looks: the cleanup's Stop is then a no-op.
	require.NoError(t, errors.Join(stopWithin(t, b), stopWithin(t, a)))
}

func addrWithAll(t *testing.T, c *Client) []string {
	t.Helper()
	var out []string
	for _, a := range c.Addrs() {
		out = append(out, a.String())
	}
	require.NotEmpty(t, out)
	return out
}
