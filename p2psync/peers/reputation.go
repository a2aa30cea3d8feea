package peers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/headersync/headersync/internal/boundedmap"
)

// Fault is an answer no honest peer gives: the peer is banned for it.
type Fault struct {
	Peer peer.ID
	Err  error
}

func (e *Fault) Error() string { return fmt.Sprintf("peer %s misbehaved: %v", e.Peer, e.Err) }
func (e *Fault) Unwrap() error { return e.Err }

// ErrInconclusive marks a failed answer that may not be its sender's fault,
// such as a chunk that does not extend an anchor another peer sent: it
// earns the sender neither a strike nor a ban.
var ErrInconclusive = errors.New("inconclusive answer")

const (
	// StrikeMemory is how long a strike is remembered after the last one.
	StrikeMemory = time.Minute
	// MaxStrikes is when a peer is no longer asked for the head while
	// others answer.
	MaxStrikes = 3
	// MaxTracked is how many peers' records each map keeps: peers come and
	// go, and new identities cost nothing.
	MaxTracked = 1024
	// banMemory is how long a ban is remembered here, so that the same
	// peer is not banned (and logged) twice; the ban itself is the
	// network's to keep.
	banMemory = time.Hour
)

// Reputation records what answers say about the peers that gave them.
// Safe for concurrent use.
type Reputation struct {
	ban     func(p peer.ID, reason error)
	log     *slog.Logger
	strikes *boundedmap.Map[peer.ID, int]
	banned  *boundedmap.Map[peer.ID, struct{}]
}

// NewReputation returns a reputation that calls ban, once per peer, for a
// peer found at fault.
func NewReputation(ban func(p peer.ID, reason error), log *slog.Logger) *Reputation {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reputation{
		ban:     ban,
		log:     log,
		strikes: newStrikes(StrikeMemory),
		banned:  boundedmap.New[peer.ID, struct{}](MaxTracked, banMemory),
	}
}

// Judge records what err, p's answer to a request made under ctx, says
// about p: a *Fault gets it banned, a failure to answer a strike, an answer
// clears its strikes. Not having the header, having one from the future, an
// inconclusive answer and a request we cancelled ourselves say nothing.
func (r *Reputation) Judge(ctx context.Context, p peer.ID, err error) {
	var fault *Fault
	switch {
	case err == nil:
		r.strikes.Delete(p)
	case errors.As(err, &fault):
		r.punish(p, fault)
	case ctx.Err() != nil, errors.Is(err, header.ErrNotFound), errors.Is(err, header.ErrFromFuture), errors.Is(err, ErrInconclusive):
	default:
		r.strikes.Update(p, func(n int, _ bool) int { return n + 1 })
	}
}

func (r *Reputation) punish(p peer.ID, fault *Fault) {
	if !r.banned.PutIfAbsent(p, struct{}{}) {
		return // a concurrent request already banned it
	}
	if r.ban != nil {
		r.ban(p, fault.Err)
	}
	r.log.Warn("banned peer", "peer", p, "reason", fault.Err)
}

// Strikes counts p's recent failures to answer.
func (r *Reputation) Strikes(p peer.ID) int {
	n, _ := r.strikes.Get(p)
	return n
}

// Banned reports whether this reputation banned p (within the last hour).
func (r *Reputation) Banned(p peer.ID) bool {
	_, ok := r.banned.Get(p)
	return ok
}

// Order sorts peers by strikes, fewest first, keeping the given order among
// equals.
func (r *Reputation) Order(peers []peer.ID) {
	counts := make(map[peer.ID]int, len(peers))
	for _, p := range peers {
		counts[p] = r.Strikes(p)
	}
	slices.SortStableFunc(peers, func(a, b peer.ID) int { return counts[a] - counts[b] })
}

// newStrikes is the strike record: strikes fade memory after the last one.
func newStrikes(memory time.Duration) *boundedmap.Map[peer.ID, int] {
	if memory == 0 {
		memory = 1 // boundedmap reads 0 as "never expires"
	}
	return boundedmap.New[peer.ID, int](MaxTracked, memory)
}
