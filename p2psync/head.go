package p2psync

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/celestiaorg/go-header"
	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

// headPeers is how many peers a network-head request asks at once.
const headPeers = 8

// netGetter is the syncer's view of the network: ranges and lookups go
// through go-header's Exchange, the network head through networkHead.
type netGetter[H Header[H]] struct {
	header.Getter[H]
	s *Service[H]

	mu     sync.Mutex
	ahead  map[uint64]*ahead[H] // ranges fetched ahead, by first height (ranges.go)
	closed bool
	wg     sync.WaitGroup
	slots  chan struct{} // one per request in flight (ranges.go)
}

func (g *netGetter[H]) Head(ctx context.Context, opts ...header.HeadOption[H]) (H, error) {
	if !g.s.work.enter(nil) {
		var zero H
		return zero, ErrNotRunning
	}
	defer g.s.work.leave(nil)
	var params header.HeadParams[H]
	for _, opt := range opts {
		opt(&params)
	}
	return g.s.networkHead(ctx, params.TrustedHead)
}

// networkHead asks connected peers that serve the exchange for their head
// and returns the highest one signed by the sequencer that verifies against
// trusted (when given). go-header's Exchange.Head would keep a head that
// merely soft-fails verification, such as a higher header of a fork signed
// by another key; the syncer would then chase that fork and stall. Here a
// head not signed by the sequencer is refused and its peer banned.
func (s *Service[H]) networkHead(ctx context.Context, trusted H) (H, error) {
	var zero H
	peers := servingPeers(s.net.Host(), s.proto, s.net.SeedIDs(), 4*headPeers)
	if len(peers) == 0 {
		return zero, errNoServingPeers
	}
	// Ask the peers that answer best; leave out those that keep failing to
	// answer at all, unless nobody else is left.
	s.strikes.order(peers)
	for len(peers) > 1 && s.strikes.count(peers[len(peers)-1]) >= maxStrikes {
		peers = peers[:len(peers)-1]
	}
	peers = peers[:min(len(peers), headPeers)]
	type answer struct {
		from peer.ID
		head H
		err  error
	}
	answers := make(chan answer, len(peers))
	for _, p := range peers {
		go func() {
			reqCtx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
			defer cancel()
			hs, err := requestFrom[H](reqCtx, s.net.Host(), p, s.proto,
				&p2p_pb.HeaderRequest{Data: &p2p_pb.HeaderRequest_Origin{Origin: 0}, Amount: 1}, s.checkHeader)
			if err != nil {
				answers <- answer{from: p, err: err}
				return
			}
			answers <- answer{from: p, head: hs[0]}
		}()
	}

	var (
		best H
		errs []error
	)
	for range peers {
		a := <-answers
		err := a.err
		s.judge(ctx, a.from, err)
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
	}
	if best.IsZero() {
		return zero, fmt.Errorf("network head from %d peers: %w", len(peers), errors.Join(errs...))
	}
	return best, nil
}

// checkHeader is what every header from a peer must pass: valid, of the
// chain, signed by the sequencer, not from the future.
func (s *Service[H]) checkHeader(h H) error { return checkSequencer(s.cfg.Genesis, h) }

// checkOrigin is checkHeader without the signature, for the headers of
// ranges, which are authenticated per answer (validateChain), and anchors,
// which are trusted only once they match a header that was.
func (s *Service[H]) checkOrigin(h H) error { return checkOrigin(s.cfg.Genesis, h) }

// judge records what an answer from p says about p: a fault gets it banned,
// a failure to answer a strike, an answer clears its strikes. Not having the
// header, or having one from the future, says nothing about the peer; nor
// does a request we cancelled ourselves.
func (s *Service[H]) judge(ctx context.Context, p peer.ID, err error) {
	var fault *peerFault
	switch {
	case err == nil:
		s.strikes.ok(p)
	case errors.As(err, &fault):
		s.punish(p, err)
	case ctx.Err() != nil, errors.Is(err, header.ErrNotFound), errors.Is(err, header.ErrFromFuture), errors.Is(err, errAnchorMismatch):
	default:
		s.strikes.fail(p)
	}
}

// punish bans the peer behind err if err is a fault no honest peer commits.
// The ban is go-header's own mechanism (the connection gater's runtime block
// list, also used by its exchange) and closes the connection.
func (s *Service[H]) punish(p peer.ID, err error) {
	var fault *peerFault
	if !errors.As(err, &fault) {
		return
	}
	if _, already := s.banned.LoadOrStore(p, struct{}{}); already {
		return // a concurrent request already banned it
	}
	if blockErr := s.net.ConnectionGater().BlockPeer(p); blockErr != nil {
		s.log.Error("ban peer", "peer", p, "err", blockErr)
	}
	if closeErr := s.net.Host().Network().ClosePeer(p); closeErr != nil {
		s.log.Debug("close banned peer", "peer", p, "err", closeErr)
	}
	s.log.Warn("banned peer", "peer", p, "reason", fault.err)
}
