package p2psync

import (
	"context"
	"log/slog"
	"time"

	gosync "github.com/celestiaorg/go-header/sync"
)

// What an operator reads in the log, and why it is computed this way.
//
// go-header's syncer logs one "syncing headers" line per job at info and
// nothing in between; sampling the store once a second missed catch-ups
// shorter than two samples altogether (6 400 headers in a second left no
// line). The syncer's State names the job — its ID, first and last height,
// start and end — so a catch-up is recognised from the job even when it
// began and ended between two samples, and its lines are logged then.
const (
	progressSample = 250 * time.Millisecond // how often the store and the syncer are looked at
	progressEvery  = 5 * time.Second        // between two progress lines of one catch-up
	statusEvery    = time.Minute            // between two status lines
	// minCatchup is the smallest sync job reported as a catch-up: a gossip
	// header arriving before its parent makes a job of one or two headers
	// several times a minute, which is not news.
	minCatchup = 5
	// stallBlocks is how many block times without a new header make a
	// warning; the warning repeats at most once a minute.
	stallBlocks = 10
)

// logLine is one info line for the service's logger.
type logLine struct {
	msg  string
	args []any
}

// catchup follows the syncer's jobs and says which lines to log. It has no
// clock or logger of its own, so its rules are tested with plain values.
type catchup struct {
	active  bool
	job     uint64    // ID of the last job seen
	from    uint64    // stored height when the catch-up began
	began   time.Time // when its first job started
	target  uint64
	lastLog time.Time // last progress line
	logged  bool      // a progress line was logged for this catch-up
}

// observe takes one sample — the time, the stored height and the syncer's
// state — and returns the lines to log.
func (c *catchup) observe(now time.Time, height uint64, job gosync.State) []logLine {
	var out []logLine
	newJob := job.ID != c.job
	c.job = job.ID
	if !c.active {
		if !newJob || job.ToHeight < job.FromHeight || job.ToHeight-job.FromHeight+1 < minCatchup {
			return nil
		}
		*c = catchup{active: true, job: job.ID, from: job.FromHeight - 1, began: job.Start, target: job.ToHeight, lastLog: now}
		if c.began.IsZero() || c.began.After(now) {
			c.began = now
		}
		out = append(out, logLine{"catching up", []any{"height", c.from, "target", c.target, "headers", c.target - c.from}})
	}
	c.target = max(c.target, job.ToHeight)
	if height >= c.target {
		c.target = height // gossip may have moved past the job's end
		end := now
		if !job.End.IsZero() && job.End.After(c.began) && !job.End.After(now) {
			end = job.End
		}
		took := end.Sub(c.began)
		if !c.logged {
			out = append(out, c.progressLine(height, took))
		}
		out = append(out, logLine{"caught up", []any{"height", height, "headers", height - c.from,
			"took", took.Round(time.Millisecond).String(), "headers_per_s", int(perSecond(height-c.from, took))}})
		c.active = false
		return out
	}
	if !c.logged && now.Sub(c.began) >= time.Second || now.Sub(c.lastLog) >= progressEvery {
		out = append(out, c.progressLine(height, now.Sub(c.began)))
		c.lastLog = now
	}
	return out
}

// progressLine reports the catch-up so far, its rate since it began and
// the time left at that rate.
func (c *catchup) progressLine(height uint64, elapsed time.Duration) logLine {
	c.logged = true
	done := uint64(0)
	if height > c.from {
		done = height - c.from
	}
	r := perSecond(done, elapsed)
	eta := "unknown"
	if r > 0 && c.target > height {
		eta = (time.Duration(float64(c.target-height) / r * float64(time.Second))).Round(time.Second).String()
	} else if c.target <= height {
		eta = "0s"
	}
	return logLine{"catch-up progress", []any{"height", height, "target", c.target, "headers_per_s", int(r), "eta", eta}}
}

// perSecond is headers per second, 0 when no time has passed.
func perSecond(headers uint64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(headers) / elapsed.Seconds()
}

// stall follows the stored height and says when it has not moved for too
// long: a sequencer that stopped, or a node cut off from it.
type stall struct {
	height uint64
	since  time.Time // when height was first seen
	warned time.Time // last warning
}

// observe returns how long the height has not moved if that deserves a
// warning now, or 0.
func (s *stall) observe(now time.Time, height uint64, after time.Duration) time.Duration {
	if height != s.height || s.since.IsZero() {
		s.height, s.since, s.warned = height, now, time.Time{}
		return 0
	}
	quiet := now.Sub(s.since)
	if height == 0 || quiet < after || !s.warned.IsZero() && now.Sub(s.warned) < time.Minute {
		return 0
	}
	s.warned = now
	return quiet
}

// progressSource is what the progress reporter samples.
type progressSource struct {
	height      func() uint64
	job         func() (gosync.State, bool) // the syncer's job, if a syncer runs
	peers       func() int
	initialised func() bool
}

// reportProgress logs catch-ups (see catchup), a status line every
// statusEvery and a warning when no header arrived for stallBlocks block
// times, until ctx ends.
func reportProgress(ctx context.Context, src progressSource, blockTime time.Duration, log *slog.Logger) {
	t := time.NewTicker(progressSample)
	defer t.Stop()
	var (
		c          catchup
		st         stall
		lastStatus = time.Now()
		stallAfter = stallBlocks * blockTime
	)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			height := src.height()
			if job, ok := src.job(); ok {
				for _, l := range c.observe(now, height, job) {
					log.Info(l.msg, l.args...)
				}
			}
			if quiet := st.observe(now, height, stallAfter); quiet > 0 {
				log.Warn("no new header", "height", height, "for", quiet.Round(time.Second).String(),
					"block_time", blockTime.String(), "peers", src.peers())
			}
			if now.Sub(lastStatus) >= statusEvery {
				lastStatus = now
				log.Info("status", "height", height, "peers", src.peers(), "initialised", src.initialised())
			}
		}
	}
}
