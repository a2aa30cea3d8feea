package p2psync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"

	"github.com/celestiaorg/go-header"
	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/celestiaorg/go-libp2p-messenger/serde"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// go-header's Exchange asks "trusted peers" in turn and returns the first
// answer without saying who gave it, so a bad answer cannot be pinned on
// a peer. For the head and first-header requests, where one bad answer
// could mislead the node, the service asks each peer itself over the same
// exchange protocol and bans a peer whose header the sequencer did not sign.

var errNoServingPeers = errors.New("no connected peer serves this exchange yet")

// requestFrom sends one exchange request to p and returns the headers of its
// answer (at most req.Amount), each validated unless the caller checks them
// another way (validate false).
func requestFrom[H Header[H]](ctx context.Context, h host.Host, p peer.ID, proto protocol.ID, req *p2p_pb.HeaderRequest, validate bool) ([]H, error) {
	stream, err := h.NewStream(ctx, p, proto)
	if err != nil {
		return nil, fmt.Errorf("open %s stream to %s: %w", proto, p, err)
	}
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
			return nil, fmt.Errorf("peer %s answered with status %s", p, resp.StatusCode)
		}
		hdr := header.New[H]()
		if err := hdr.UnmarshalBinary(resp.Body); err != nil {
			_ = stream.Reset()
			return nil, &peerFault{peer: p, err: err}
		}
		if validate {
			if err := hdr.Validate(); err != nil {
				_ = stream.Reset()
				return nil, &peerFault{peer: p, err: err}
			}
		}
		out = append(out, hdr)
	}
	_ = stream.Close() // the answer is complete; a failed close loses nothing
	return out, nil
}

// peerFault is an answer no honest peer gives: undecodable or invalid
// headers, or headers the sequencer did not sign.
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
