package p2psync

import (
	"context"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/celestiaorg/go-header"
	gosync "github.com/celestiaorg/go-header/sync"

	"github.com/headersync/headersync/types"
)

// State is a snapshot of a service, for status reports.
type State struct {
	Kind Kind `json:"kind"`
	// Initialised is true once the store has a trusted head.
	Initialised bool `json:"initialised"`
	// WaitingFor says what an uninitialised service waits for: "genesis",
	// "trusted header" or "first block".
	WaitingFor string `json:"waiting_for,omitempty"`
	// InitError is why the last attempt to get the first header failed.
	InitError string `json:"init_error,omitempty"`
	// Base is the lowest stored height: the genesis initial height, the
	// trusted header's, or where the retention window begins (0 before
	// init). Every height from Base to Height is stored.
	Base uint64 `json:"base"`
	// Height and HeadHash describe the stored head (0 and empty before init).
	Height   uint64         `json:"height"`
	HeadHash types.HexBytes `json:"head_hash,omitempty"`
	// Recovering is true while a sequencer syncs its own chain back from
	// its peers; RecoverTo is the height it needs before it may publish.
	Recovering bool   `json:"recovering,omitempty"`
	RecoverTo  uint64 `json:"recover_to,omitempty"`
	// DurableHeight is the height of the head already synced to disk: what
	// a restart after a crash resumes from at least. It trails Height by
	// the appends of the last 50 ms at most (a catch-up syncs every 50 ms,
	// not every range).
	DurableHeight uint64 `json:"durable_height"`
	// Syncer is go-header's state of the current or last sync; nil for the
	// sequencer and before initialisation.
	Syncer *gosync.State `json:"syncer,omitempty"`
	// ExchangePeers counts connected peers serving this exchange protocol.
	ExchangePeers int `json:"exchange_peers"`
	// Gossip counts the service's verdicts on gossiped headers that passed
	// go-header's own decoding and Validate.
	Gossip GossipCounts `json:"gossip"`
	// RequestsRefused counts exchange requests refused by the limits.
	RequestsRefused uint64 `json:"requests_refused"`
}

// GossipCounts counts gossiped headers by verdict.
type GossipCounts struct {
	Accepted uint64 `json:"accepted"`
	Ignored  uint64 `json:"ignored"`
	Rejected uint64 `json:"rejected"`
	// Conflicting counts ignored headers the sequencer signed at a stored
	// height with another hash: equivocation.
	Conflicting uint64 `json:"conflicting"`
}

// State reports the service's current state.
func (s *Service[H]) State(ctx context.Context) State {
	st := State{Kind: s.cfg.Kind}
	if s.started() != nil {
		return st
	}
	st.Initialised = s.init.done.Load()
	if s.pub != nil && s.pub.recovering.Load() {
		st.Recovering, st.RecoverTo = true, s.cfg.RecoverTo
	}
	if !st.Initialised {
		if s.boot != nil {
			st.WaitingFor, st.InitError = s.boot.waiting()
		} else {
			st.WaitingFor = InitFromPublish.Waiting()
		}
	} else if head, err := s.store.Head(ctx); err == nil {
		st.Base, st.Height, st.HeadHash = s.store.Base(), head.Height(), types.HexBytes(head.Hash())
		st.DurableHeight = s.store.DurableHeight()
	}
	if job, ok := s.syncJob(); ok {
		st.Syncer = &job
	}
	st.ExchangePeers = s.servingPeers()
	st.RequestsRefused = s.RequestsRefused()
	st.Gossip = s.gate.counts()
	return st
}

// servingPeers counts the connected peers serving this exchange protocol.
func (s *Service[H]) servingPeers() int {
	n := 0
	for _, p := range s.net.Host().Network().Peers() {
		if s.serves(p) {
			n++
		}
	}
	return n
}

// serves reports whether p announced this service's exchange protocol.
func (s *Service[H]) serves(p peer.ID) bool {
	protos, err := s.net.Host().Peerstore().SupportsProtocols(p, s.cfg.Kind.NamesOf(s.cfg.Genesis).Protocol)
	return err == nil && len(protos) > 0
}

// GossipCounts returns how many gossiped headers the service accepted,
// ignored and rejected.
func (s *Service[H]) GossipCounts() (accepted, ignored, rejected uint64) {
	if s.gate == nil {
		return 0, 0, 0
	}
	c := s.gate.counts()
	return c.Accepted, c.Ignored, c.Rejected
}

// RequestsRefused counts exchange requests the server's limits refused.
func (s *Service[H]) RequestsRefused() uint64 {
	if s.server == nil {
		return 0
	}
	return s.server.refused()
}

// Initialised reports whether the service has a trusted head.
func (s *Service[H]) Initialised() bool { return s.init != nil && s.init.done.Load() }

// ErrNotRunning: the service was not started, or was stopped.
var ErrNotRunning = errors.New("sync service not running")

// started guards the accessors: the store is not open before Start, and its
// datastore may be closed after Stop.
func (s *Service[H]) started() error {
	if s.store == nil || s.run.stopped.Load() {
		return ErrNotRunning
	}
	return nil
}

// Height returns the height of the stored head, 0 before initialisation.
func (s *Service[H]) Height() uint64 {
	if s.started() != nil {
		return 0
	}
	return s.store.Height()
}

// Base returns the lowest stored height, 0 before initialisation.
func (s *Service[H]) Base() uint64 {
	if s.started() != nil {
		return 0
	}
	return s.store.Base()
}

// PrunedError: a height below the lowest stored one, on a node that keeps
// a window (or began at a trusted header or the network head). It is
// header.ErrNotFound too.
type PrunedError struct {
	Height     uint64 // asked for
	Base, Head uint64 // what the node keeps
}

func (e *PrunedError) Error() string {
	return fmt.Sprintf("height %d pruned: this node keeps heights %d..%d", e.Height, e.Base, e.Head)
}

// Unwrap makes a PrunedError header.ErrNotFound.
func (e *PrunedError) Unwrap() error { return header.ErrNotFound }

// Head returns the stored head, or header.ErrNoHead.
func (s *Service[H]) Head(ctx context.Context) (H, error) {
	var zero H
	if err := s.started(); err != nil {
		return zero, err
	}
	// Never ask go-header's store for its head before it is initialised:
	// see exchangeServer.
	if !s.init.done.Load() {
		return zero, header.ErrNoHead
	}
	return s.store.Head(ctx)
}

// GetByHeight returns the stored header at height, or header.ErrNotFound if
// the store does not hold it. Unlike go-header's store, it never waits for a
// height to arrive.
func (s *Service[H]) GetByHeight(ctx context.Context, height uint64) (H, error) {
	var zero H
	if err := s.started(); err != nil {
		return zero, err
	}
	if height == 0 || height > s.store.Height() {
		return zero, fmt.Errorf("height %d: %w", height, header.ErrNotFound)
	}
	if base := s.store.Base(); height < base {
		return zero, &PrunedError{Height: height, Base: base, Head: s.store.Height()}
	}
	h, err := s.store.GetByHeight(ctx, height)
	if errors.Is(err, header.ErrNotFound) {
		// Pruned between the look at the base and the read.
		return zero, &PrunedError{Height: height, Base: s.store.Base(), Head: s.store.Height()}
	}
	return h, err
}

// WaitHeight returns the header at height, waiting until the store has it.
func (s *Service[H]) WaitHeight(ctx context.Context, height uint64) (H, error) {
	if err := s.started(); err != nil {
		var zero H
		return zero, err
	}
	return s.store.GetByHeight(ctx, height)
}

// Get returns the stored header with the given hash, or header.ErrNotFound.
func (s *Service[H]) Get(ctx context.Context, hash header.Hash) (H, error) {
	if err := s.started(); err != nil {
		var zero H
		return zero, err
	}
	return s.store.Get(ctx, hash)
}
