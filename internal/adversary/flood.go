package adversary

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/celestiaorg/go-libp2p-messenger/serde"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// FloodResult counts what a flood got.
type FloodResult struct {
	Sent     int64 // requests written
	Answered int64 // requests that got at least one header back
	Refused  int64 // streams refused or reset before any answer
}

// Flood sends n range requests for amount headers from origin to target,
// concurrency at a time, as fast as it can, reading and discarding the
// answers.
func Flood(ctx context.Context, h host.Host, target peer.ID, proto protocol.ID, n, concurrency int, origin, amount uint64) FloodResult {
	var (
		res  FloodResult
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				got, err := Request(ctx, h, target, proto, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: origin}, Amount: amount})
				if err == nil || got > 0 {
					atomic.AddInt64(&res.Sent, 1)
				}
				switch {
				case got > 0:
					atomic.AddInt64(&res.Answered, 1)
				default:
					atomic.AddInt64(&res.Refused, 1)
				}
			}
		}()
	}
	wg.Wait()
	return res
}

// Request sends one exchange request and returns how many responses came
// back before the stream ended.
func Request(ctx context.Context, h host.Host, target peer.ID, proto protocol.ID, req *p2p_pb.HeaderRequest) (int, error) {
	s, err := h.NewStream(ctx, target, proto)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	if _, err := serde.Write(s, req); err != nil {
		_ = s.Reset()
		return 0, err
	}
	if err := s.CloseWrite(); err != nil {
		_ = s.Reset()
		return 0, err
	}
	got := 0
	for {
		var resp p2p_pb.HeaderResponse
		if _, err := serde.Read(s, &resp); err != nil {
			if errors.Is(err, io.EOF) {
				return got, nil
			}
			return got, err
		}
		got++
	}
}
