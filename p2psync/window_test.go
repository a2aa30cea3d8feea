package p2psync

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"
)

// The pipeline covers one round trip at the syncer's own pace: deeper for a
// distant peer, never beyond the memory cap, shallow on loopback.
func TestPacingCoversTheRoundTrip(t *testing.T) {
	var p pacing
	require.Equal(t, minAhead, p.ahead(), "nothing measured yet")

	t0 := time.Unix(1000, 0)
	p.returning(t0)
	p.called(t0.Add(2 * time.Millisecond)) // the syncer spends 2 ms per range
	p.answered(100 * time.Millisecond)     // a request takes 100 ms
	require.Equal(t, 50+minAhead, p.ahead())
	require.Equal(t, 6*time.Millisecond, p.due(3), "the third range ahead is needed in three ranges' time")

	for range latencySamples {
		p.answered(50 * time.Millisecond) // the same link, requests queueing
	}
	p.answered(time.Hour)
	require.Equal(t, 25+minAhead, p.ahead(), "the shortest recent round trip: the link, not the queue")

	var far pacing
	far.returning(t0)
	far.called(t0.Add(time.Millisecond))
	far.answered(time.Hour)
	require.Equal(t, maxAhead, far.ahead(), "capped, whatever the round trip")

	var loopback pacing
	loopback.returning(t0)
	loopback.called(t0.Add(2 * time.Millisecond))
	loopback.answered(500 * time.Microsecond)
	require.Equal(t, minAhead, loopback.ahead())
}

// A peer's window grows while it answers, halves when it fails, and bounds
// the requests in flight to it; acquire waits for room or its context.
func TestPeerWindowGrowsShrinksAndBounds(t *testing.T) {
	var w peerWindows
	ctx := context.Background()
	const p = peer.ID("p")
	var releases []func(bool, time.Duration)
	for range windowStart {
		r, err := w.acquire(ctx, p)
		require.NoError(t, err)
		releases = append(releases, r)
	}
	full, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err := w.acquire(full, p)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the window is full")

	releases[0](true, 10*time.Millisecond)
	require.Equal(t, windowStart+1, w.peers[p].limit, "an answer grows it by one")
	releases[1](false, 0)
	require.Equal(t, (windowStart+1)/2, w.peers[p].limit, "a failure halves it")
	for _, r := range releases[2:] {
		r(false, 0)
	}
	require.Equal(t, windowMin, w.peers[p].limit, "never below the minimum")
	require.Zero(t, w.peers[p].inflight)
}

// A chunk needed now goes to the peer expected to answer first; one needed
// later to the slowest peer that answers in time, keeping the fast one free.
func TestPickByDeadline(t *testing.T) {
	var w peerWindows
	near, far := peer.ID("near"), peer.ID("far")
	w.mu.Lock()
	w.get(near).latency = 20 * time.Millisecond
	w.get(far).latency = 200 * time.Millisecond
	w.mu.Unlock()
	ps := []peer.ID{near, far}
	for i := range 4 {
		require.Equal(t, near, w.pick(ps, i, 0), "needed now")
		require.Equal(t, near, w.pick(ps, i, 100*time.Millisecond), "the far peer would be late")
		require.Equal(t, far, w.pick(ps, i, time.Second), "the far peer is in time")
	}
}
