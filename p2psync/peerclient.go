package p2psync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/celestiaorg/go-header"
	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/celestiaorg/go-libp2p-messenger/serde"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// go-header's Exchange asks "trusted peers" in turn and returns the first
// answer without saying who gave it, and its range sessions cannot tell
// which peer sent a header of the wrong height. Where one bad answer could
// mislead or stall the node — the first header, the network head, the
// ranges of a catch-up — the service asks each peer itself over the same
// exchange protocol, so that a peer whose answer is wrong on its face is
// banned, and a peer that is merely slow is tried last.

var errNoServingPeers = errors.New("no connected peer serves this exchange yet")

// requestFrom sends one exchange request to p and returns the headers of its
// answer: at most req.Amount, each passing check (nil: decode only). An
// answer no honest peer gives — undecodable, failing check (other than by
// being from the future), or longer than asked — is a *peerFault.
func requestFrom[H Header[H]](ctx context.Context, h host.Host, p peer.ID, proto protocol.ID, req *p2p_pb.HeaderRequest, check func(H) error) ([]H, error) {
	stream, err := h.NewStream(ctx, p, proto)
	if err != nil {
		return nil, fmt.Errorf("open %s stream to %s: %w", proto, p, err)
	}
	// A stream read does not watch ctx: reset the stream when ctx ends, so
	// a peer that never answers cannot outlast the caller.
	stop := context.AfterFunc(ctx, func() { _ = stream.Reset() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		if err := stream.SetDeadline(dl); err != nil {
			_ = stream.Reset()
			return nil, fmt.Errorf("set deadline on stream to %s: %w", p, err)
		}
	}
	if _, err := serde.Write(stream, req); err != nil {
		_ = stream.Reset()
		return nil, fmt.Errorf("write request to %s: %w", p, err)
	}
	if err := stream.CloseWrite(); err != nil {
		_ = stream.Reset()
		return nil, fmt.Errorf("close request to %s: %w", p, err)
	}

	out := make([]H, 0, min(req.Amount, header.MaxRangeRequestSize))
	for uint64(len(out)) < req.Amount {
		var resp p2p_pb.HeaderResponse
		if _, err := serde.Read(stream, &resp); err != nil {
			if errors.Is(err, io.EOF) && len(out) > 0 {
				break // a partial answer: the peer has no more
			}
			_ = stream.Reset()
			return nil, fmt.Errorf("read response from %s: %w", p, err)
		}
		switch resp.StatusCode {
		case p2p_pb.StatusCode_OK:
		case p2p_pb.StatusCode_NOT_FOUND:
			_ = stream.Reset()
			return nil, fmt.Errorf("peer %s: %w", p, header.ErrNotFound)
		default:
			_ = stream.Reset()
			return nil, &peerFault{peer: p, err: fmt.Errorf("response status %s", resp.StatusCode)}
		}
		hdr := header.New[H]()
		if err := hdr.UnmarshalBinary(resp.Body); err != nil {
			_ = stream.Reset()
			return nil, &peerFault{peer: p, err: err}
		}
		if check != nil {
			if err := check(hdr); err != nil {
				_ = stream.Reset()
				if errors.Is(err, header.ErrFromFuture) {
					return nil, err // the sequencer's clock or ours is off: not the peer's doing
				}
				return nil, &peerFault{peer: p, err: err}
			}
		}
		out = append(out, hdr)
	}
	if uint64(len(out)) == req.Amount {
		// The server closes the stream after its answer: anything more is
		// a peer trying to make us read more than we asked for.
		var extra p2p_pb.HeaderResponse
		if _, err := serde.Read(stream, &extra); err == nil {
			_ = stream.Reset()
			return nil, &peerFault{peer: p, err: fmt.Errorf("more than the %d headers asked for", req.Amount)}
		}
	}
	_ = stream.Close() // the answer is complete; a failed close loses nothing
	return out, nil
}

// peerFault is an answer no honest peer gives.
type peerFault struct {
	peer peer.ID
	err  error
}

func (e *peerFault) Error() string { return fmt.Sprintf("peer %s misbehaved: %v", e.peer, e.err) }
func (e *peerFault) Unwrap() error { return e.err }

// servingPeers returns up to limit connected peers that speak proto: seeds
// first, then the others in random order.
func servingPeers(h host.Host, proto protocol.ID, seeds []peer.ID, limit int) []peer.ID {
	connected := h.Network().Peers()
	rand.Shuffle(len(connected), func(i, j int) { connected[i], connected[j] = connected[j], connected[i] })
	slices.SortStableFunc(connected, func(a, b peer.ID) int {
		as, bs := slices.Contains(seeds, a), slices.Contains(seeds, b)
		switch {
		case as && !bs:
			return -1
		case bs && !as:
			return 1
		}
		return 0
	})
	out := make([]peer.ID, 0, min(limit, len(connected)))
	for _, p := range connected {
		if len(out) == limit {
			break
		}
		if supported, err := h.Peerstore().SupportsProtocols(p, proto); err == nil && len(supported) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// strikes counts a peer's recent failures to answer (timeouts, resets), so
// that a slow or stalling peer is asked last. A success clears them; they
// also fade after strikeMemory.
type strikes struct {
	mu sync.Mutex
	m  map[peer.ID]strike
}

type strike struct {
	n    int
	last time.Time
}

const strikeMemory = time.Minute

// maxTracked is how many peers' records a map keeps before it forgets the
// stale ones: peers come and go, and new identities cost nothing.
const maxTracked = 1024

// maxStrikes is when a peer is no longer asked for the head while others
// answer.
const maxStrikes = 3

func (s *strikes) fail(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[peer.ID]strike)
	}
	if len(s.m) >= maxTracked {
		for q, st := range s.m {
			if time.Since(st.last) > strikeMemory {
				delete(s.m, q)
			}
		}
	}
	st := s.m[p]
	s.m[p] = strike{n: st.n + 1, last: time.Now()}
}

func (s *strikes) ok(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, p)
}

func (s *strikes) count(p peer.ID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, found := s.m[p]
	if !found {
		return 0
	}
	if time.Since(st.last) > strikeMemory {
		delete(s.m, p)
		return 0
	}
	return st.n
}

// order sorts peers by strikes, keeping the given order among equals.
func (s *strikes) order(peers []peer.ID) {
	counts := make(map[peer.ID]int, len(peers))
	for _, p := range peers {
		counts[p] = s.count(p)
	}
	slices.SortStableFunc(peers, func(a, b peer.ID) int { return counts[a] - counts[b] })
}
