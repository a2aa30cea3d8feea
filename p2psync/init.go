package p2psync

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	p2p_pb "github.com/celestiaorg/go-header/p2p/pb"
	"github.com/libp2p/go-libp2p/core/event"
)

// newPeerPause is the least time between two attempts triggered by peers
// connecting.
const newPeerPause = 20 * time.Millisecond

// initLoop obtains the first header (plan InitFromTrustedHash or
// InitFromGenesis): from peers, retrying with backoff, and straight away
// when a new peer connects; or from gossip, if it comes first.
func (s *Service[H]) initLoop(ctx context.Context) {
	defer s.wg.Done()
	log := s.log.With("waiting_for", s.plan.Waiting())
	log.Info("store is empty; waiting for the first header")

	loopCtx, stop := context.WithCancel(ctx)
	defer stop()
	newPeers := s.watchNewPeers(loopCtx, log)

	backoff := s.cfg.InitRetryMin
	timer := time.NewTimer(0)
	defer timer.Stop()
	var (
		lastAttempt, lastLogged time.Time
		lastReason              string
	)
	for {
		select {
		case <-ctx.Done():
			return
		case h := <-s.candidates:
			if err := s.initialise(ctx, h, "gossip"); err != nil {
				log.Error("initialise from gossip", "err", err)
				continue
			}
			return
		case <-newPeers:
			// Someone new may have the header: try almost at once. The
			// short pause only merges the events of peers connecting
			// together into one attempt.
			backoff = s.cfg.InitRetryMin
			resetTimer(timer, newPeerPause-time.Since(lastAttempt))
			continue
		case <-timer.C:
		}

		lastAttempt = time.Now()
		h, err := s.fetchFirst(ctx)
		if err == nil {
			if err = s.initialise(ctx, h, "exchange"); err == nil {
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		msg := err.Error()
		s.initErr.Store(&msg)
		// Log each kind of failure once a minute, not every attempt: the
		// details (peer IDs, stream errors) change every time.
		reason := "no peer could provide it"
		if errors.Is(err, errNoServingPeers) {
			reason = errNoServingPeers.Error()
		}
		if reason != lastReason || time.Since(lastLogged) > time.Minute {
			log.Info("first header not available yet; retrying", "reason", reason, "err", err, "retry_in", backoff)
			lastReason, lastLogged = reason, time.Now()
		} else {
			log.Debug("first header not available yet", "err", err, "retry_in", backoff)
		}
		resetTimer(timer, backoff)
		backoff = min(2*backoff, s.cfg.InitRetryMax)
	}
}

// watchNewPeers signals, on a channel holding at most one signal, each time
// a peer completes identification, until ctx ends. The event bus blocks
// every emitter while a subscriber's buffer is full, so events are drained
// here, apart from the init loop's long attempts, rather than left queued.
func (s *Service[H]) watchNewPeers(ctx context.Context, log *slog.Logger) <-chan struct{} {
	out := make(chan struct{}, 1)
	sub, err := s.net.Host().EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		log.Error("subscribe to peer events; retrying on a timer only", "err", err)
		return out
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.Out():
				select {
				case out <- struct{}{}:
				default: // one signal pending is enough
				}
			}
		}
	}()
	return out
}

// resetTimer makes t fire after d (at once if d <= 0), dropping a pending
// tick.
func resetTimer(t *time.Timer, d time.Duration) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	t.Reset(max(d, 0))
}

// fetchFirst asks each connected peer serving the exchange, seeds first, for
// the first header, and returns the first answer that passes checkFirst.
// Peers that answer with a header the sequencer did not sign are banned.
func (s *Service[H]) fetchFirst(ctx context.Context) (H, error) {
	var zero H
	req := &p2p_pb.HeaderRequest{Amount: 1}
	if len(s.cfg.TrustedHash) != 0 {
		req.Data = &p2p_pb.HeaderRequest_Hash{Hash: s.cfg.TrustedHash}
	} else {
		req.Data = &p2p_pb.HeaderRequest_Origin{Origin: s.cfg.Genesis.InitialHeight}
	}
	peers := servingPeers(s.net.Host(), s.proto, s.net.SeedIDs(), 32)
	if len(peers) == 0 {
		return zero, errNoServingPeers
	}
	s.strikes.order(peers) // a peer that stalled last time is asked last
	var errs []error
	for _, p := range peers {
		reqCtx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		hs, err := requestFrom[H](reqCtx, s.net.Host(), p, s.proto, req, func(h H) error {
			return checkFirst(s.cfg.Genesis, s.cfg.TrustedHash, h)
		})
		cancel()
		s.judge(ctx, p, err)
		if err == nil {
			return hs[0], nil
		}
		errs = append(errs, err)
	}
	return zero, errors.Join(errs...)
}

// initialise trusts h as the first header and starts syncing from it. It is
// a no-op once the service is initialised.
func (s *Service[H]) initialise(ctx context.Context, h H, source string) error {
	s.initMu.Lock()
	defer s.initMu.Unlock()
	if !s.initialised.Load() {
		if err := checkFirst(s.cfg.Genesis, s.cfg.TrustedHash, h); err != nil {
			return fmt.Errorf("first header: %w", err)
		}
		if len(s.cfg.TrustedHash) != 0 {
			if err := recordBase(ctx, s.ds, s.cfg.Kind, h.Hash()); err != nil {
				return err
			}
		}
		if err := s.store.Init(ctx, h); err != nil {
			return fmt.Errorf("initialise store with header %d %s: %w", h.Height(), hex.EncodeToString(h.Hash()), err)
		}
		s.initialised.Store(true)
		s.initErr.Store(nil)
		s.log.Info("initialised", "height", h.Height(), "hash", hex.EncodeToString(h.Hash()), "from", source)
	}
	if err := s.startServer(ctx); err != nil {
		return err
	}
	if s.syncer == nil || s.syncerRunning.Load() {
		return nil
	}
	return s.startSyncer(ctx)
}

// Initialised reports whether the service has a trusted head.
func (s *Service[H]) Initialised() bool { return s.initialised.Load() }

// ErrNotRunning: the service was not started, or was stopped.
var ErrNotRunning = errors.New("sync service not running")

// started guards the accessors: the store is not open before Start, and its
// datastore may be closed after Stop.
func (s *Service[H]) started() error {
	if s.store == nil || s.stopped.Load() {
		return ErrNotRunning
	}
	return nil
}
