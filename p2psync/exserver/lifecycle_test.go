package exserver

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/stretchr/testify/require"
)

// blockingStore holds every range scan until its context ends, or, if
// release is not nil, until release is closed.
type blockingStore struct {
	scanning chan struct{} // receives once per scan begun
	release  chan struct{}
}

func (b *blockingStore) HeadBytes(context.Context) (uint64, []byte, error) {
	return 100, []byte("head"), nil
}

func (b *blockingStore) BytesByHash(context.Context, header.Hash) ([]byte, error) {
	return nil, header.ErrNotFound
}

func (b *blockingStore) ScanBytes(ctx context.Context, _, _ uint64, _ func(uint64, []byte) error) error {
	b.scanning <- struct{}{}
	if b.release != nil {
		<-b.release
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

// stopSoon is how long a Stop with nothing to wait for may take here.
const stopSoon = 2 * time.Second

func TestStopWhileReadingRequest(t *testing.T) {
	srvHost, client := newHost(t), newHost(t)
	connect(t, client, srvHost)
	srv := startServer(t, srvHost, chainID, FromHeaderStore(newHeaderStore(t, makeChain(t, 5))), WithReadDeadline(time.Minute))
	str := stall(t, client, srvHost.ID())
	eventually(t, func() bool { return srv.running() == 1 }, "the request to be read")

	begin := time.Now()
	require.NoError(t, srv.Stop(context.Background()))
	require.Less(t, time.Since(begin), stopSoon)
	require.Zero(t, srv.running())
	_, err := io.ReadAll(str)
	require.Error(t, err, "the client sees its stream reset")

	// The handler is gone, and a stopped server cannot start again.
	require.ErrorIs(t, srv.Start(context.Background()), ErrStopped)
	require.NotContains(t, srvHost.Mux().Protocols(), ProtocolID(chainID))
}

func TestStopWhileScanning(t *testing.T) {
	srvHost, client := newHost(t), newHost(t)
	connect(t, client, srvHost)
	st := &blockingStore{scanning: make(chan struct{}, 1)}
	srv := startServer(t, srvHost, chainID, st)

	done := make(chan reply, 1)
	req := encodeRequest(t, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: 10}, Amount: 64})
	go func() { done <- ask(t, client, srvHost.ID(), ProtocolID(chainID), req, false) }()
	<-st.scanning

	begin := time.Now()
	require.NoError(t, srv.Stop(context.Background()))
	require.Less(t, time.Since(begin), stopSoon)
	r := <-done
	require.True(t, r.reset)
	require.Empty(t, r.raw)
}

func TestStopGivesUpWithItsContext(t *testing.T) {
	srvHost, client := newHost(t), newHost(t)
	connect(t, client, srvHost)
	st := &blockingStore{scanning: make(chan struct{}, 1), release: make(chan struct{})}
	srv := startServer(t, srvHost, chainID, st)

	done := make(chan reply, 1)
	req := encodeRequest(t, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: 10}, Amount: 64})
	go func() { done <- ask(t, client, srvHost.ID(), ProtocolID(chainID), req, false) }()
	<-st.scanning

	// The store ignores the context: Stop waits only as long as its own.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, srv.Stop(ctx), context.DeadlineExceeded)
	require.Equal(t, 1, srv.running())
	require.True(t, (<-done).reset, "the stream was reset at once")

	close(st.release)
	require.NoError(t, srv.Stop(context.Background()))
	require.Zero(t, srv.running())
}

func TestLifecycle(t *testing.T) {
	h := newHost(t)
	st := &blockingStore{scanning: make(chan struct{}, 1)}

	never, err := New(h, ProtocolID(chainID), st)
	require.NoError(t, err)
	require.NoError(t, never.Stop(context.Background()), "stop before start")
	require.NoError(t, never.Stop(context.Background()), "stop twice")
	require.ErrorIs(t, never.Start(context.Background()), ErrStopped)

	srv, err := New(h, ProtocolID(chainID), st)
	require.NoError(t, err)
	require.NoError(t, srv.Start(context.Background()))
	require.ErrorIs(t, srv.Start(context.Background()), ErrStarted)
	require.Contains(t, h.Mux().Protocols(), ProtocolID(chainID))
	require.NoError(t, srv.Stop(context.Background()))
	require.NotContains(t, h.Mux().Protocols(), ProtocolID(chainID))
	require.NoError(t, srv.Stop(context.Background()))
}

func TestProtocolID(t *testing.T) {
	require.EqualValues(t, "/gm/header-ex/v0.0.3", ProtocolID("gm"))
}

// TestStopUnderLoad stops the server while several peers keep asking for
// ranges: Stop returns, every handler has returned, and (TestMain) no
// goroutine is left.
func TestStopUnderLoad(t *testing.T) {
	srvHost := newHost(t)
	srv := startServer(t, srvHost, chainID, FromHeaderStore(newHeaderStore(t, makeChain(t, 600))), WithLimits(benchLimits))
	req := encodeRequest(t, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: 1}, Amount: 512})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for range 3 {
		client := newHost(t)
		connect(t, client, srvHost)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 32<<10)
				for ctx.Err() == nil {
					_, _ = fetch(client, srvHost.ID(), ProtocolID(chainID), req, buf)
				}
			}()
		}
	}
	eventually(t, func() bool { return srv.Served() >= 20 }, "requests to be served")
	begin := time.Now()
	require.NoError(t, srv.Stop(context.Background()))
	require.Less(t, time.Since(begin), stopSoon)
	require.Zero(t, srv.running())
	cancel()
	wg.Wait()
}
