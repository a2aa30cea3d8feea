package exserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/types"
)

// rawStore keeps encoded headers in memory: what a height-ordered store
// gives the server, without the disk.
type rawStore struct {
	base   uint64
	raw    [][]byte
	byHash map[string][]byte
	scans  atomic.Int64
}

func newRawStore(tb testing.TB, chain []*types.SignedHeader) *rawStore {
	tb.Helper()
	s := &rawStore{base: chain[0].Height(), byHash: make(map[string][]byte)}
	for _, h := range chain {
		b, err := h.MarshalBinary()
		require.NoError(tb, err)
		s.raw = append(s.raw, b)
		s.byHash[string(h.Hash())] = b
	}
	return s
}

func (s *rawStore) HeadBytes(context.Context) (uint64, []byte, error) {
	if len(s.raw) == 0 {
		return 0, nil, header.ErrNoHead
	}
	return s.base + uint64(len(s.raw)) - 1, s.raw[len(s.raw)-1], nil
}

func (s *rawStore) BytesByHash(_ context.Context, hash header.Hash) ([]byte, error) {
	if b, ok := s.byHash[string(hash)]; ok {
		return b, nil
	}
	return nil, header.ErrNotFound
}

func (s *rawStore) ScanBytes(_ context.Context, from, to uint64, fn func(uint64, []byte) error) error {
	s.scans.Add(1)
	if from < s.base {
		return nil // the first height asked is not stored
	}
	for h := from; h < to && h-s.base < uint64(len(s.raw)); h++ {
		if err := fn(h, s.raw[h-s.base]); err != nil {
			return err
		}
	}
	return nil
}

// TestRangeIsOneScan: a range is answered from one ScanBytes call, and the
// same bytes as through a go-header store.
func TestRangeIsOneScan(t *testing.T) {
	chain := makeChain(t, 600)
	srvHost, client := newHost(t), newHost(t)
	connect(t, client, srvHost)
	raw := newRawStore(t, chain)
	startServer(t, srvHost, "raw", raw)
	startServer(t, srvHost, "gh", FromHeaderStore(newHeaderStore(t, chain)))

	req := encodeRequest(t, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: 50}, Amount: 512})
	fromRaw := ask(t, client, srvHost.ID(), ProtocolID("raw"), req, false)
	fromGoHeader := ask(t, client, srvHost.ID(), ProtocolID("gh"), req, false)
	require.False(t, fromRaw.reset)
	require.Len(t, fromRaw.messages(t), 512)
	require.Equal(t, fromGoHeader.raw, fromRaw.raw)
	require.EqualValues(t, 1, raw.scans.Load())
}

// benchLimits do not stand in a benchmark's way.
var benchLimits = Limits{Concurrent: 64, PerPeerConcurrent: 64, PerPeerRate: 1e9, PerPeerBurst: 1e9}

// BenchmarkServeRange asks for 512-header ranges, one at a time, over a
// loopback TCP connection: go-header's ExchangeServer and this server over
// the same go-header store, and this server over encoded headers in memory.
// Time and allocations are the client's and the server's together.
func BenchmarkServeRange(b *testing.B) {
	const (
		n     = 8192
		chunk = int(header.MaxRangeRequestSize)
	)
	chain := makeChain(b, n)
	srvHost, client := newHost(b), newHost(b)
	connect(b, client, srvHost)
	st := newHeaderStore(b, chain)
	startGoHeader(b, srvHost, "go-header", st, 5*time.Second)
	startServer(b, srvHost, "exserver", FromHeaderStore(st), WithLimits(benchLimits))
	startServer(b, srvHost, "exserver-raw", newRawStore(b, chain), WithLimits(benchLimits))

	var reqs [][]byte
	for from := 1; from+chunk <= n; from += chunk {
		reqs = append(reqs, encodeRequest(b, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: uint64(from)}, Amount: uint64(chunk)}))
	}
	for _, name := range []string{"go-header", "exserver", "exserver-raw"} {
		b.Run(name, func(b *testing.B) {
			proto := ProtocolID(name)
			buf := make([]byte, 32<<10)
			// The same bytes from every server: the first answer, whole.
			want := ask(b, client, srvHost.ID(), proto, reqs[0], false)
			require.False(b, want.reset)
			require.Len(b, want.messages(b), chunk)
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				got, err := fetch(client, srvHost.ID(), proto, reqs[i%len(reqs)], buf)
				if err != nil {
					b.Fatal(err)
				}
				if i%len(reqs) == 0 && got != len(want.raw) {
					b.Fatalf("answer of %d bytes, want %d", got, len(want.raw))
				}
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*chunk), "ns/header")
		})
	}
}

// fetch sends req and reads the whole answer into buf, over and over; it
// returns the answer's length.
func fetch(h host.Host, p peer.ID, proto protocol.ID, req []byte, buf []byte) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	str, err := h.NewStream(ctx, p, proto)
	if err != nil {
		return 0, fmt.Errorf("open stream: %w", err)
	}
	if _, err := str.Write(req); err != nil {
		_ = str.Reset()
		return 0, fmt.Errorf("write request: %w", err)
	}
	if err := str.CloseWrite(); err != nil {
		_ = str.Reset()
		return 0, fmt.Errorf("close request: %w", err)
	}
	total := 0
	for {
		n, err := str.Read(buf)
		total += n
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			_ = str.Reset()
			return total, fmt.Errorf("read answer: %w", err)
		}
	}
	return total, str.Close()
}
