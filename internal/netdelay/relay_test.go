package netdelay

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// echoServer echoes every connection until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				_, _ = io.Copy(c, c)
				_ = c.(*net.TCPConn).CloseWrite()
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// A round trip through a relay of 50 ms each way takes at least 100 ms.
func TestRelayDelaysRoundTrip(t *testing.T) {
	r, err := Listen(context.Background(), "127.0.0.1:0", echoServer(t), 50*time.Millisecond)
	require.NoError(t, err)
	defer r.Close()
	c, err := net.Dial("tcp", r.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	buf := make([]byte, 4)
	for range 3 {
		start := time.Now()
		_, err = c.Write([]byte("ping"))
		require.NoError(t, err)
		_, err = io.ReadFull(c, buf)
		require.NoError(t, err)
		rtt := time.Since(start)
		require.Equal(t, "ping", string(buf))
		require.GreaterOrEqual(t, rtt, 100*time.Millisecond)
		require.Less(t, rtt, time.Second)
	}
}

// A transfer many times MaxQueued arrives whole and in order, and the end of
// the stream is passed on after the last byte.
func TestRelayLargeTransferIntact(t *testing.T) {
	r, err := Listen(context.Background(), "127.0.0.1:0", echoServer(t), 5*time.Millisecond)
	require.NoError(t, err)
	defer r.Close()
	c, err := net.Dial("tcp", r.Addr().String())
	require.NoError(t, err)
	defer c.Close()

	want := make([]byte, 5*MaxQueued+12345)
	_, err = rand.Read(want)
	require.NoError(t, err)
	sent := make(chan error, 1)
	go func() {
		_, err := c.Write(want)
		if err == nil {
			err = c.(*net.TCPConn).CloseWrite()
		}
		sent <- err
	}()
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	require.NoError(t, <-sent)
	require.True(t, bytes.Equal(want, got), "received %d bytes, sent %d; equal prefix %d", len(got), len(want), commonPrefix(want, got))
	require.Equal(t, int64(2*len(want)), r.Forwarded(), "every byte there and back")
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// Close ends every connection and goroutine, even with bytes in flight and
// clients still connected.
func TestRelayCloseStopsEverything(t *testing.T) {
	echo := echoServer(t)
	before := goleak.IgnoreCurrent() // the echo server's connections end when the relay's do
	r, err := Listen(context.Background(), "127.0.0.1:0", echo, time.Second)
	require.NoError(t, err)
	var clients []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", r.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		_, err = c.Write([]byte("in flight"))
		require.NoError(t, err)
		clients = append(clients, c)
	}
	require.NoError(t, r.Close())
	for _, c := range clients {
		_, err := io.ReadAll(c) // the relay closed it: EOF or reset, without waiting
		_ = err
	}
	goleak.VerifyNone(t, before)
}

// Cancelling the context given to Listen stops the relay like Close.
func TestRelayStopsOnContext(t *testing.T) {
	echo := echoServer(t)
	before := goleak.IgnoreCurrent()
	ctx, cancel := context.WithCancel(context.Background())
	r, err := Listen(ctx, "127.0.0.1:0", echo, 10*time.Millisecond)
	require.NoError(t, err)
	c, err := net.Dial("tcp", r.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	cancel()
	r.wg.Wait()
	goleak.VerifyNone(t, before)
	require.NoError(t, r.Close())
}

func TestListenRefusesNegativeDelay(t *testing.T) {
	_, err := Listen(context.Background(), "127.0.0.1:0", "127.0.0.1:1", -time.Millisecond)
	require.ErrorContains(t, err, "expected zero or more")
}
