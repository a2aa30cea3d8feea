package p2psync

import (
	"context"
	"time"
)

// reportProgress logs a catch-up's progress — height, target, rate, ETA —
// once a second while the store is behind the syncer's target, and once
// when it has caught up.
func (s *Service[H]) reportProgress(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var (
		last     uint64
		lastAt   time.Time
		catching bool
	)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if !s.syncerRunning.Load() {
				continue
			}
			height, target := s.store.Height(), s.syncer.State().ToHeight
			p := progressOf(last, height, target, now.Sub(lastAt))
			switch {
			case p.behind && lastAt.IsZero():
				// first sample: no rate yet
			case p.behind:
				catching = true
				s.log.Info("catching up", "height", height, "target", target,
					"headers_per_s", int(p.rate), "eta", p.eta.Round(time.Second).String())
			case catching:
				catching = false
				s.log.Info("caught up", "height", height)
			}
			last, lastAt = height, now
		}
	}
}

// progress is one catch-up sample.
type progress struct {
	behind bool
	rate   float64       // headers per second since the last sample
	eta    time.Duration // at that rate; 0 if unknown
}

// progressOf computes a sample from the previous height, the current one,
// the target and the time between samples.
func progressOf(prev, height, target uint64, elapsed time.Duration) progress {
	p := progress{behind: target > height}
	if !p.behind || elapsed <= 0 || height < prev {
		return p
	}
	p.rate = float64(height-prev) / elapsed.Seconds()
	if p.rate > 0 {
		p.eta = time.Duration(float64(target-height) / p.rate * float64(time.Second))
	}
	return p
}
