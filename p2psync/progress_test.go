package p2psync

import (
	"fmt"
	"testing"
	"time"

	gosync "github.com/celestiaorg/go-header/sync"
	"github.com/stretchr/testify/require"
)

func msgs(lines []logLine) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.msg)
	}
	return out
}

func attr(l logLine, key string) any {
	for i := 0; i+1 < len(l.args); i += 2 {
		if l.args[i] == key {
			return l.args[i+1]
		}
	}
	return nil
}

// A catch-up that begins and ends between two samples still logs its
// start, one progress line and its end with the time the job took.
func TestCatchupShorterThanASample(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var c catchup
	require.Empty(t, c.observe(t0, 1, gosync.State{}), "no job yet")
	job := gosync.State{ID: 1, FromHeight: 2, ToHeight: 6401, Start: t0.Add(10 * time.Millisecond), End: t0.Add(810 * time.Millisecond)}
	lines := c.observe(t0.Add(time.Second), 6401, job)
	require.Equal(t, []string{"catching up", "catch-up progress", "caught up"}, msgs(lines))
	require.Equal(t, uint64(6401), attr(lines[0], "target"))
	require.Equal(t, "800ms", attr(lines[2], "took"))
	require.Equal(t, 8000, attr(lines[2], "headers_per_s"))
	require.Empty(t, c.observe(t0.Add(2*time.Second), 6401, job), "the same job is not reported twice")
}

// A long catch-up logs progress after a second, then every progressEvery,
// with its rate and ETA; the target follows later jobs.
func TestCatchupProgressEveryFewSeconds(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var c catchup
	job := gosync.State{ID: 1, FromHeight: 11, ToHeight: 10010, Start: t0}
	var got []string
	for i := 1; i <= 40; i++ { // 10 s in quarter seconds, 250 headers a second
		now := t0.Add(time.Duration(i) * progressSample)
		h := 10 + uint64(i)*250/4
		for _, l := range c.observe(now, h, job) {
			got = append(got, fmt.Sprintf("%s@%s", l.msg, now.Sub(t0)))
			if l.msg == "catch-up progress" {
				require.Equal(t, 250, attr(l, "headers_per_s"))
				require.NotEqual(t, "unknown", attr(l, "eta"))
			}
		}
	}
	require.Equal(t, []string{"catching up@250ms", "catch-up progress@1s", "catch-up progress@6s"}, got)
	job2 := gosync.State{ID: 2, FromHeight: 2511, ToHeight: 10020, Start: t0.Add(10 * time.Second), End: t0.Add(11 * time.Second)}
	lines := c.observe(t0.Add(11*time.Second), 10020, job2)
	require.Equal(t, []string{"caught up"}, msgs(lines))
	require.Equal(t, uint64(10010), attr(lines[0], "headers"))
}

// A job of a few headers, as a gossip header ahead of its parent makes, is
// not a catch-up.
func TestSmallJobIsNotACatchup(t *testing.T) {
	var c catchup
	require.Empty(t, c.observe(time.Unix(1000, 0), 50, gosync.State{ID: 3, FromHeight: 49, ToHeight: 50}))
}

func TestStallWarnsAfterSeveralBlockTimesOnceAMinute(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var s stall
	after := 10 * time.Second
	require.Zero(t, s.observe(t0, 5, after))
	require.Zero(t, s.observe(t0.Add(9*time.Second), 5, after))
	require.Equal(t, 10*time.Second, s.observe(t0.Add(10*time.Second), 5, after))
	require.Zero(t, s.observe(t0.Add(30*time.Second), 5, after), "once a minute")
	require.Equal(t, 70*time.Second, s.observe(t0.Add(70*time.Second), 5, after))
	require.Zero(t, s.observe(t0.Add(71*time.Second), 6, after), "a new header resets")
	require.Zero(t, s.observe(t0.Add(75*time.Second), 6, after))

	var empty stall
	require.Zero(t, empty.observe(t0, 0, after))
	require.Zero(t, empty.observe(t0.Add(time.Hour), 0, after), "no header yet is the init loop's to report")
}
