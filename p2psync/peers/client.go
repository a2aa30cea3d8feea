package peers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
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
// mislead or stall a node — the first header, the network head, the ranges
// of a catch-up — the node asks each peer itself over the same exchange
// protocol, so that a peer whose answer is wrong on its face is banned, and
// a peer that is merely slow is asked last.

// ErrNoServingPeers: no connected peer is known to serve the protocol yet.
var ErrNoServingPeers = errors.New("no connected peer serves this exchange yet")

// headPeers is how many peers a network-head vote asks at once.
const headPeers = 8

// headGrace is how long a head vote waits for more answers once one valid
// head has come in after first: as long again, and at least 50 ms. A
// distant or stalling peer then delays the vote by at most that, not by
// its own round trip or the request timeout; a head it would have raised
// is taken at the next vote or from gossip.
func headGrace(first time.Duration) time.Duration { return max(first, 50*time.Millisecond) }

// Client sends exchange requests for headers of type H to single peers.
type Client[H header.Header[H]] struct {
	host    host.Host
	proto   protocol.ID
	seeds   []peer.ID
	rep     *Reputation
	timeout time.Duration
}

// NewClient returns a client of protocol proto over h. Seeds are asked
// first; every answer is judged by rep; timeout bounds each request.
func NewClient[H header.Header[H]](h host.Host, proto protocol.ID, seeds []peer.ID, rep *Reputation, timeout time.Duration) *Client[H] {
	return &Client[H]{host: h, proto: proto, seeds: seeds, rep: rep, timeout: timeout}
}

// Reputation is the reputation the client's answers are judged by.
func (c *Client[H]) Reputation() *Reputation { return c.rep }

// Serves reports whether p announced the client's protocol.
func (c *Client[H]) Serves(p peer.ID) bool {
	protos, err := c.host.Peerstore().SupportsProtocols(p, c.proto)
	return err == nil && len(protos) > 0
}

// Serving returns up to limit connected peers that serve the protocol:
// seeds first, then the others in random order.
func (c *Client[H]) Serving(limit int) []peer.ID {
	connected := c.host.Network().Peers()
	rand.Shuffle(len(connected), func(i, j int) { connected[i], connected[j] = connected[j], connected[i] })
	slices.SortStableFunc(connected, func(a, b peer.ID) int {
		as, bs := slices.Contains(c.seeds, a), slices.Contains(c.seeds, b)
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
		if c.Serves(p) {
			out = append(out, p)
		}
	}
	return out
}

// Best returns the serving peers not in tried that have the fewest strikes:
// the ones worth asking next, in the order Serving gives.
func (c *Client[H]) Best(tried map[peer.ID]bool) ([]peer.ID, error) {
	peers := c.Serving(1 << 10)
	peers = slices.DeleteFunc(peers, func(p peer.ID) bool { return tried[p] })
	if len(peers) == 0 {
		if len(tried) > 0 {
			return nil, errors.New("every serving peer failed this request")
		}
		return nil, ErrNoServingPeers
	}
	fewest := c.rep.Strikes(peers[0])
	for _, p := range peers[1:] {
		fewest = min(fewest, c.rep.Strikes(p))
	}
	return slices.DeleteFunc(peers, func(p peer.ID) bool { return c.rep.Strikes(p) > fewest }), nil
}

// Request sends one exchange request to p and returns the headers of its
// answer: at most req.Amount, each passing check (nil: decode only). An
// answer no honest peer gives — undecodable, failing check (other than by
// being from the future), or longer than asked — is a *Fault. The request
// is bounded by the client's timeout; the caller judges the answer.
func (c *Client[H]) Request(ctx context.Context, p peer.ID, req *p2p_pb.HeaderRequest, check func(H) error) ([]H, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	stream, err := c.host.NewStream(ctx, p, c.proto)
	if err != nil {
		return nil, fmt.Errorf("open %s stream to %s: %w", c.proto, p, err)
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
			return nil, &Fault{Peer: p, Err: fmt.Errorf("response status %s", resp.StatusCode)}
		}
		hdr := header.New[H]()
		if err := hdr.UnmarshalBinary(resp.Body); err != nil {
			_ = stream.Reset()
			return nil, &Fault{Peer: p, Err: err}
		}
		if check != nil {
			if err := check(hdr); err != nil {
				_ = stream.Reset()
				if errors.Is(err, header.ErrFromFuture) {
					return nil, err // the sequencer's clock or ours is off: not the peer's doing
				}
				return nil, &Fault{Peer: p, Err: err}
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
			return nil, &Fault{Peer: p, Err: fmt.Errorf("more than the %d headers asked for", req.Amount)}
		}
	}
	_ = stream.Close() // the answer is complete; a failed close loses nothing
	return out, nil
}

// First asks each serving peer in turn, seeds first and peers that stalled
// last time last, for the one header req names, and returns the first
// answer that passes check. A peer whose answer fails check is banned.
func (c *Client[H]) First(ctx context.Context, req *p2p_pb.HeaderRequest, check func(H) error) (H, error) {
	var zero H
	peers := c.Serving(32)
	if len(peers) == 0 {
		return zero, ErrNoServingPeers
	}
	c.rep.Order(peers)
	var errs []error
	for _, p := range peers {
		hs, err := c.Request(ctx, p, req, check)
		c.rep.Judge(ctx, p, err)
		if err == nil {
			return hs[0], nil
		}
		errs = append(errs, err)
	}
	return zero, errors.Join(errs...)
}

// Head asks serving peers for their head and returns the highest one that
// passes check and, when trusted is not zero, verifies against it.
// go-header's Exchange.Head would keep a head that merely soft-fails
// verification, such as a higher header of a fork signed by another key; a
// syncer would then chase that fork and stall. Here a head failing check
// gets its peer banned. Peers that keep failing to answer are left out
// while others remain.
func (c *Client[H]) Head(ctx context.Context, trusted H, check func(H) error) (H, error) {
	var zero H
	peers := c.Serving(4 * headPeers)
	if len(peers) == 0 {
		return zero, ErrNoServingPeers
	}
	c.rep.Order(peers)
	for len(peers) > 1 && c.rep.Strikes(peers[len(peers)-1]) >= MaxStrikes {
		peers = peers[:len(peers)-1]
	}
	peers = peers[:min(len(peers), headPeers)]
	type answer struct {
		from peer.ID
		head H
		err  error
	}
	// The requests still out when the vote ends are cancelled: it waits
	// for a slow peer only a little longer than for the first that
	// answered (headGrace).
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	answers := make(chan answer, len(peers)) // buffered: a sender never blocks
	began := time.Now()
	for _, p := range peers {
		go func() {
			hs, err := c.Request(ctx, p, &p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: 0}, Amount: 1}, check)
			if err != nil {
				answers <- answer{from: p, err: err}
				return
			}
			answers <- answer{from: p, head: hs[0]}
		}()
	}

	var (
		best  H
		errs  []error
		grace <-chan time.Time
	)
vote:
	for range peers {
		var a answer
		select {
		case a = <-answers:
		case <-grace:
			break vote
		}
		err := a.err
		c.rep.Judge(ctx, a.from, err)
		if err == nil && !trusted.IsZero() {
			err = header.Verify(trusted, a.head)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if best.IsZero() || a.head.Height() > best.Height() {
			best = a.head
		}
		if grace == nil {
			t := time.NewTimer(headGrace(time.Since(began)))
			defer t.Stop()
			grace = t.C
		}
	}
	if best.IsZero() {
		return zero, fmt.Errorf("network head from %d peers: %w", len(peers), errors.Join(errs...))
	}
	return best, nil
}
