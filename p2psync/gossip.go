package p2psync

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/celestiaorg/go-header"
)

// go-header's Subscriber takes one gossip verifier for its lifetime, and its
// Syncer installs its own when it starts. The service needs a verifier from
// the moment it joins the topic (to take the first header from gossip, and
// to accept its own broadcasts), so it installs verifyGossip and hands the
// Syncer a Subscriber whose SetVerifier only records the syncer's verifier
// for verifyGossip to call.

// verifyGossip screens every gossiped header. A nil result accepts it, a
// soft *header.VerifyError ignores it, any other error rejects it (and
// gossipsub holds that against the peer that sent it).
func (s *Service[H]) verifyGossip(ctx context.Context, h H) error {
	if !s.work.enter(nil) {
		return notBlamed(ErrNotRunning)
	}
	defer s.work.leave(nil)
	err := s.screenGossip(ctx, h)
	var verr *header.VerifyError
	switch {
	case err == nil:
		s.gossip.accepted.Add(1)
	case errors.As(err, &verr) && verr.SoftFailure:
		s.gossip.ignored.Add(1)
	default:
		s.gossip.rejected.Add(1)
		s.logRejected(h, err)
	}
	return err
}

func (s *Service[H]) screenGossip(ctx context.Context, h H) error {
	if _, ok := s.publishing.Load(h.Hash().String()); ok {
		return nil
	}
	// Only a header the sequencer did not sign, or of another chain, is the
	// relaying peer's fault: reject it, which costs the peer gossip score.
	if err := checkSequencer(s.cfg.Genesis, h); err != nil {
		return &header.VerifyError{Reason: err}
	}
	if err := checkFresh(h); err != nil {
		return notBlamed(err)
	}
	if err := s.checkEquivocation(ctx, h); err != nil {
		return notBlamed(err)
	}
	if v := s.syncerVerify.Load(); v != nil {
		err := (*v)(ctx, h)
		// A sequencer-signed header that is late (a height we have, or an
		// older time) or early for our clock is ignored, not rejected:
		// honest peers relay such headers, and rejecting them would
		// graylist the sequencer itself. A broken link at the next height
		// stays rejected.
		if errors.Is(err, header.ErrKnownHeader) || errors.Is(err, header.ErrUnorderedTime) || errors.Is(err, header.ErrFromFuture) {
			return notBlamed(err)
		}
		return err
	}
	if s.offerFirst(h) {
		return nil
	}
	return notBlamed(ErrNotInitialised)
}

// checkEquivocation returns ErrEquivocation, counted and logged, for a
// gossiped header that differs from the stored one at its height. It is
// signed by the genesis key (the caller checked), so the sequencer signed
// two headers at one height: a fork, never the relayer's fault, and worth
// an operator's attention (a sequencer that lost its data/ and its signing
// state, or a stolen key). It is logged at most once a second.
func (s *Service[H]) checkEquivocation(ctx context.Context, h H) error {
	if !s.initialised.Load() || h.Height() > s.store.Height() {
		return nil
	}
	stored, err := s.store.GetByHeight(ctx, h.Height())
	if err != nil || bytes.Equal(stored.Hash(), h.Hash()) {
		return nil // below a trusted base, or the same header again
	}
	total := s.gossip.conflicting.Add(1)
	now := time.Now().UnixNano()
	last := s.gossip.lastConflictLog.Load()
	if now-last >= int64(time.Second) && s.gossip.lastConflictLog.CompareAndSwap(last, now) {
		s.log.Error("the sequencer signed a second header at a stored height: its chain forked; following the stored chain",
			"height", h.Height(), "stored_hash", hex.EncodeToString(stored.Hash()), "gossiped_hash", hex.EncodeToString(h.Hash()), "conflicting_total", total)
	}
	return fmt.Errorf("header %d %s: %w (stored %s)", h.Height(), hex.EncodeToString(h.Hash()), ErrEquivocation, hex.EncodeToString(stored.Hash()))
}

// notBlamed makes err a soft failure: gossipsub ignores the message without
// holding it against its sender.
func notBlamed(err error) error {
	var verr *header.VerifyError
	if errors.As(err, &verr) {
		verr.SoftFailure = true
		return verr
	}
	return &header.VerifyError{Reason: err, SoftFailure: true}
}

// gossipCounts counts what verifyGossip decided.
type gossipCounts struct {
	accepted, ignored, rejected atomic.Uint64
	conflicting                 atomic.Uint64 // sequencer-signed, but not the stored header at its height
	lastLog                     atomic.Int64  // unix ns of the last rejection logged
	lastConflictLog             atomic.Int64  // unix ns of the last conflict logged
}

// logRejected logs a rejected header at most once a second: a peer flooding
// bad gossip must not flood the log.
func (s *Service[H]) logRejected(h H, err error) {
	now := time.Now().UnixNano()
	last := s.gossip.lastLog.Load()
	if now-last < int64(time.Second) || !s.gossip.lastLog.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn("rejected gossiped header", "height", h.Height(), "hash", hex.EncodeToString(h.Hash()),
		"err", err, "rejected_total", s.gossip.rejected.Load())
}

// offerFirst hands h to the init loop if the service waits for exactly h.
func (s *Service[H]) offerFirst(h H) bool {
	if s.initialised.Load() || (s.plan != InitFromGenesis && s.plan != InitFromTrustedHash) {
		return false
	}
	if checkFirst(s.cfg.Genesis, s.cfg.TrustedHash, h) != nil {
		return false
	}
	select {
	case s.candidates <- h:
	default: // a candidate is already queued
	}
	return true
}

// syncerSubscriber is the Subscriber the syncer sees.
type syncerSubscriber[H Header[H]] struct{ s *Service[H] }

func (g syncerSubscriber[H]) Subscribe() (header.Subscription[H], error) {
	return g.s.sub.Subscribe()
}

func (g syncerSubscriber[H]) SetVerifier(v func(context.Context, H) error) error {
	g.s.syncerVerify.Store(&v)
	return nil
}
