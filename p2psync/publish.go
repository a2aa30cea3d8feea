package p2psync

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"time"
)

// durableTimeout bounds how long Publish waits for a header to be written.
const durableTimeout = 10 * time.Second

// Publish stores h and broadcasts it (sequencer only). The first header
// published to an empty store initialises it and must be at the genesis
// initial height; every later one must extend the stored head. Publish
// returns once h is durable, so a crash can never take back a header that
// peers have seen. If only the broadcast fails, h is stored all the same,
// peers still get it from the exchange, and the error wraps
// ErrBroadcastFailed.
func (s *Service[H]) Publish(ctx context.Context, h H) error {
	if !s.cfg.Sequencer {
		return ErrNotSequencer
	}
	if err := s.started(); err != nil {
		return err
	}
	if s.recovering.Load() {
		return fmt.Errorf("publish %s %d: %w", s.cfg.Kind, h.Height(), ErrRecovering)
	}
	if err := checkSequencer(s.cfg.Genesis, h); err != nil {
		return fmt.Errorf("publish %s: %w", s.cfg.Kind, err)
	}

	s.initMu.Lock()
	defer s.initMu.Unlock()
	if !s.initialised.Load() {
		// Store.Init writes synchronously: h is durable when it returns.
		if err := checkFirst(s.cfg.Genesis, nil, h); err != nil {
			return fmt.Errorf("publish first %s: %w", s.cfg.Kind, err)
		}
		if err := s.store.Init(ctx, h); err != nil {
			return fmt.Errorf("publish %s %d: initialise store: %w", s.cfg.Kind, h.Height(), err)
		}
		s.initialised.Store(true)
		s.log.Info("initialised", "height", h.Height(), "hash", hex.EncodeToString(h.Hash()), "from", "publish")
		if err := s.startServer(ctx); err != nil {
			return fmt.Errorf("publish %s %d: %w", s.cfg.Kind, h.Height(), err)
		}
	} else {
		if err := s.store.Append(ctx, h); err != nil {
			// A sequencer ending its recovery may find h stored already:
			// its syncer took h from peers, and go-header's store makes an
			// append visible only a moment after it returns. The very same
			// header is published; any other at its height is refused.
			if held, heldErr := s.holds(ctx, h); heldErr != nil || !held {
				return fmt.Errorf("publish %s %d: append to store: %w", s.cfg.Kind, h.Height(), err)
			}
		}
		// go-header's store logs a failed write and retries it with the
		// next append only: bound the wait, so the caller hears of it.
		waitCtx, cancel := context.WithTimeout(ctx, durableTimeout)
		err := s.waitDurable(waitCtx, h)
		cancel()
		if err != nil {
			return fmt.Errorf("publish %s %d: %w", s.cfg.Kind, h.Height(), err)
		}
	}

	key := h.Hash().String()
	s.publishing.Store(key, struct{}{})
	defer s.publishing.Delete(key)
	if err := s.sub.Broadcast(ctx, h); err != nil {
		return fmt.Errorf("publish %s %d: %w: %w", s.cfg.Kind, h.Height(), ErrBroadcastFailed, err)
	}
	return nil
}

// FinishRecovery ends a sequencer's recovery (Config.RecoverTo): the syncer
// stops and Publish works again. The caller checks first that the synced
// chain links to what the sequencer signed. It does nothing on a service
// that is not recovering.
func (s *Service[H]) FinishRecovery(ctx context.Context) error {
	if err := s.started(); err != nil {
		return err
	}
	s.initMu.Lock()
	defer s.initMu.Unlock()
	if !s.recovering.Load() {
		return nil
	}
	if !s.initialised.Load() {
		return fmt.Errorf("finish %s recovery: the store has no chain yet", s.cfg.Kind)
	}
	if s.syncerRunning.Load() {
		if err := s.syncer.Stop(ctx); err != nil {
			return fmt.Errorf("finish %s recovery: stop syncer: %w", s.cfg.Kind, err)
		}
		s.syncerRunning.Store(false)
		s.syncerVerify.Store(nil)
	}
	s.recovering.Store(false)
	s.log.Info("recovered the chain from peers; publishing again", "height", s.store.Height())
	return nil
}

// holds reports whether the store holds h itself at h's height.
func (s *Service[H]) holds(ctx context.Context, h H) (bool, error) {
	if s.store.Height() < h.Height() {
		return false, nil
	}
	stored, err := s.store.GetByHeight(ctx, h.Height())
	if err != nil {
		return false, err
	}
	return bytes.Equal(stored.Hash(), h.Hash()), nil
}

// waitDurable blocks until the durable head is at or above h's height: a
// restart resumes from there, and a chain that reached it through h's
// height holds h (the store appends only what extends its head).
func (s *Service[H]) waitDurable(ctx context.Context, h H) error {
	for {
		hash, changed, err := s.watcher.durableHead()
		if err != nil {
			return fmt.Errorf("read durable head: %w", err)
		}
		if hash != nil {
			if head, err := s.store.Get(ctx, hash); err == nil && head.Height() >= h.Height() {
				return nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for header %d to be written: %w", h.Height(), ctx.Err())
		}
	}
}
