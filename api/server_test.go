package api_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/headersync/headersync/api"
	"github.com/headersync/headersync/internal/testlog"
)

// stopDeadline bounds how long a Stop may take in these tests.
const stopDeadline = 10 * time.Second

func TestNewRejectsBadAddr(t *testing.T) {
	for _, addr := range []string{"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:65536", "127.0.0.1:-1", "http://127.0.0.1:1"} {
		t.Run(addr, func(t *testing.T) {
			_, err := api.New(addr, newFakeBackend(t, 1), nil, nil)
			require.Error(t, err)
			require.Contains(t, err.Error(), addr)
		})
	}
}

func TestNewRejectsNilBackend(t *testing.T) {
	_, err := api.New(api.DefaultListen, nil, nil, nil)
	require.ErrorContains(t, err, "backend")
}

func TestStartAddrInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	addr := taken.Addr().String()

	srv, err := api.New(addr, newFakeBackend(t, 1), nil, testlog.New(t, slog.LevelDebug))
	require.NoError(t, err)
	err = srv.Start(context.Background())
	require.ErrorIs(t, err, api.ErrAddrInUse)
	require.Contains(t, err.Error(), addr)
	require.Empty(t, srv.Addr())

	require.NoError(t, srv.Stop(context.Background()), "Stop after a failed Start")
	require.NoError(t, srv.Stop(context.Background()), "second Stop")
}

func TestStartStop(t *testing.T) {
	srv, err := api.New("127.0.0.1:0", newFakeBackend(t, 1), nil, testlog.New(t, slog.LevelDebug))
	require.NoError(t, err)
	require.Empty(t, srv.Addr(), "no address before Start")
	require.NoError(t, srv.Start(context.Background()))
	addr := srv.Addr()
	require.NotEmpty(t, addr)
	require.NotEqual(t, "127.0.0.1:0", addr, "Addr reports the bound port")
	require.Error(t, srv.Start(context.Background()), "second Start")

	require.Equal(t, http.StatusOK, get(t, "http://"+addr+"/healthz").code)

	require.NoError(t, srv.Stop(context.Background()))
	require.NoError(t, srv.Stop(context.Background()), "second Stop")
	require.ErrorIs(t, srv.Start(context.Background()), api.ErrServerStopped)

	_, err = net.Dial("tcp", addr)
	require.Error(t, err, "the listener is closed")
}

func TestStopBeforeStart(t *testing.T) {
	srv, err := api.New("127.0.0.1:0", newFakeBackend(t, 1), nil, nil)
	require.NoError(t, err)
	require.NoError(t, srv.Stop(context.Background()))
	require.ErrorIs(t, srv.Start(context.Background()), api.ErrServerStopped)
}

// blockingBackend answers GET /headers/{height} only when its context ends.
type blockingBackend struct {
	*fakeBackend
	entered chan struct{}
}

func (b *blockingBackend) HeaderView(ctx context.Context, _ uint64) (api.HeaderJSON, error) {
	close(b.entered)
	<-ctx.Done()
	return api.HeaderJSON{}, ctx.Err()
}

// TestStopEndsStuckRequest checks that Stop does not hang on, or leak, a
// request whose backend call never returns by itself.
func TestStopEndsStuckRequest(t *testing.T) {
	b := &blockingBackend{fakeBackend: newFakeBackend(t, 1), entered: make(chan struct{})}
	srv, err := api.New("127.0.0.1:0", b, nil, testlog.New(t, slog.LevelDebug))
	require.NoError(t, err)
	require.NoError(t, srv.Start(context.Background()))
	client := newClient(t, "http://"+srv.Addr())

	reqDone := make(chan error, 1)
	go func() {
		_, err := client.Header(context.Background(), "1")
		reqDone <- err
	}()
	<-b.entered

	// An expired context makes the graceful part give up at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	began := time.Now()
	err = srv.Stop(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, time.Since(began), stopDeadline, "Stop outlived its context")
	select {
	case err := <-reqDone:
		require.Error(t, err, "the stuck request fails rather than hangs")
	case <-time.After(stopDeadline):
		t.Fatal("the stuck request still hangs after Stop")
	}
	require.NoError(t, srv.Stop(context.Background()))
}

// Stop gives in-flight requests until its deadline, then returns promptly
// with an error wrapping context.DeadlineExceeded.
func TestStopDeadlineWithStuckRequest(t *testing.T) {
	b := &blockingBackend{fakeBackend: newFakeBackend(t, 1), entered: make(chan struct{})}
	srv, err := api.New("127.0.0.1:0", b, nil, testlog.New(t, slog.LevelDebug))
	require.NoError(t, err)
	require.NoError(t, srv.Start(context.Background()))
	client := newClient(t, "http://"+srv.Addr())
	reqDone := make(chan error, 1)
	go func() {
		_, err := client.Header(context.Background(), "1")
		reqDone <- err
	}()
	<-b.entered

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	began := time.Now()
	require.ErrorIs(t, srv.Stop(ctx), context.DeadlineExceeded)
	require.Less(t, time.Since(began), stopDeadline, "Stop outlived its context")
	require.Error(t, <-reqDone)
}

// A failed Start leaves nothing running: Stop afterwards has nothing to do.
func TestFailedStartLeavesNothingRunning(t *testing.T) {
	defer goleak.VerifyNone(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	srv, err := api.New(taken.Addr().String(), newFakeBackend(t, 1), nil, nil)
	require.NoError(t, err)
	require.ErrorIs(t, srv.Start(context.Background()), api.ErrAddrInUse)
	goleak.VerifyNone(t)
	require.NoError(t, srv.Stop(context.Background()))
}
