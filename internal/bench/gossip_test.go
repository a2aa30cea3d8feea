package bench

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// requireProcStats skips a test of the gossip benchmark where it cannot
// measure the process (anywhere but Linux).
func requireProcStats(t *testing.T) {
	t.Helper()
	if _, err := processCPUTime(); errors.Is(err, errors.ErrUnsupported) {
		t.Skip(err)
	}
}

// Fifty nodes in a line get every header: the path to a network of
// hundreds stays open. Not under the race detector, where fifty libp2p
// hosts on two cores measure the detector and not the network.
func TestGossipFiftyNodes(t *testing.T) {
	if raceEnabled {
		t.Skip("50 libp2p hosts under the race detector measure the detector")
	}
	if testing.Short() {
		t.Skip("50 nodes take several seconds")
	}
	requireProcStats(t)
	start := time.Now()
	res, err := Gossip(context.Background(), GossipOptions{Nodes: 50, Topology: TopologyLine, BlockTime: 100 * time.Millisecond, Blocks: 20})
	require.NoError(t, err)
	t.Logf("%s (%s in all)", res, time.Since(start).Round(time.Millisecond))
	require.Len(t, res.PerNode, 49)
	for i, n := range res.PerNode {
		require.Equal(t, 20, n.Counted, "node %d", i+1)
		require.Zero(t, n.Missed, "node %d missed %d of 20 headers: %s", i+1, n.Missed, res)
	}
	require.Zero(t, res.Missed)
}

func TestSeedsFor(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 0))
	for i := 1; i < 40; i++ {
		require.Equal(t, []int{i - 1}, seedsFor(TopologyLine, i, r))
		require.Equal(t, []int{0}, seedsFor(TopologyStar, i, r))
		seeds := seedsFor(TopologyRandom, i, r)
		require.Len(t, seeds, min(3, i), "node %d takes what exists, up to 3", i)
		for _, s := range seeds {
			require.GreaterOrEqual(t, s, 0)
			require.Less(t, s, i, "node %d is seeded by an earlier node", i)
		}
		sorted := slices.Sorted(slices.Values(seeds))
		require.Len(t, slices.Compact(sorted), len(seeds), "node %d: distinct seeds %v", i, seeds)
	}
	// The same seed draws the same network; another draws another.
	draw := func(seed uint64) [][]int {
		r := rand.New(rand.NewPCG(seed, 0))
		var out [][]int
		for i := 1; i < 40; i++ {
			out = append(out, seedsFor(TopologyRandom, i, r))
		}
		return out
	}
	require.Equal(t, draw(3), draw(3))
	require.NotEqual(t, draw(3), draw(4))
}

func TestChurnPlan(t *testing.T) {
	require.Equal(t, 0, churnCount(99, 0))
	require.Equal(t, 20, churnCount(99, 0.2), "19.8 rounds to 20")
	require.Equal(t, 1, churnCount(4, 0.2), "0.8 rounds to 1")
	require.Equal(t, 0, churnCount(2, 0.2), "0.4 rounds to 0")
	require.Equal(t, 99, churnCount(99, 0.999))
	require.Empty(t, churnOffsets(0, 10*time.Second))
	require.Equal(t, []time.Duration{5 * time.Second}, churnOffsets(1, 10*time.Second))
	require.Equal(t, []time.Duration{2 * time.Second, 4 * time.Second, 6 * time.Second, 8 * time.Second}, churnOffsets(4, 10*time.Second))
}

// The counting rules of churn, on made-up arrivals of four headers
// published at t0+1s .. t0+4s.
func TestGossipTally(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	published := []time.Time{at(1000), at(2000), at(3000), at(4000)}
	never := time.Time{}
	for _, tc := range []struct {
		name   string
		node   gossipNode
		delays []time.Duration
		want   NodeTally
	}{
		{"whole phase", gossipNode{arrivals: []time.Time{at(1010), at(2020), at(3030), at(4040)}},
			[]time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond}, NodeTally{Counted: 4}},
		{"whole phase, one missed", gossipNode{arrivals: []time.Time{at(1010), never, at(3030), at(4040)}},
			[]time.Duration{10 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond}, NodeTally{Counted: 4, Missed: 1}},
		{"stopped after two: what it lacks is not missed", gossipNode{stopped: true, arrivals: []time.Time{at(1010), at(2020), never, never}},
			[]time.Duration{10 * time.Millisecond, 20 * time.Millisecond}, NodeTally{Stopped: true, Counted: 2}},
		// Joined at 1.5 s, caught up with headers 1 and 2 at 2.5 s: held
		// to 3 and 4 only.
		{"fresh", gossipNode{fresh: true, joined: at(1500), arrivals: []time.Time{at(2500), at(2500), at(3050), at(4010)}},
			[]time.Duration{50 * time.Millisecond, 10 * time.Millisecond}, NodeTally{Fresh: true, Counted: 2}},
		{"fresh, missed two after its first arrival", gossipNode{fresh: true, joined: at(1500), arrivals: []time.Time{at(1600), at(2030), never, never}},
			[]time.Duration{30 * time.Millisecond}, NodeTally{Fresh: true, Counted: 3, Missed: 2}},
		{"fresh, never arrived: held to what followed its join", gossipNode{fresh: true, joined: at(2500), arrivals: []time.Time{never, never, never, never}},
			nil, NodeTally{Fresh: true, Counted: 2, Missed: 2}},
		{"fresh, joined after the last header", gossipNode{fresh: true, joined: at(4500), arrivals: []time.Time{at(4600), at(4600), at(4600), at(4600)}},
			nil, NodeTally{Fresh: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			delays, got := tc.node.tally(published)
			require.Equal(t, tc.delays, delays)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\theadersync\nVmPeak:\t 2000000 kB\nVmRSS:\t  123456 kB\nRssAnon:\t 100000 kB\n"
	rss, err := parseVmRSS([]byte(status))
	require.NoError(t, err)
	require.Equal(t, uint64(123456*1024), rss)
	_, err = parseVmRSS([]byte("Name:\tx\n"))
	require.ErrorContains(t, err, "no VmRSS line")
	_, err = parseVmRSS([]byte("VmRSS:\t 12 MB\n"))
	require.ErrorContains(t, err, "expected a number and kB")
}

// On Linux the process's figures are there and plausible.
func TestProcessStats(t *testing.T) {
	requireProcStats(t)
	cpu0, err := processCPUTime()
	require.NoError(t, err)
	for i := 0; i < 1_000_000; i++ {
		_ = rand.Uint64() // some CPU time
	}
	cpu1, err := processCPUTime()
	require.NoError(t, err)
	require.GreaterOrEqual(t, cpu1, cpu0)
	rss, err := processRSS()
	require.NoError(t, err)
	require.Greater(t, rss, uint64(1<<20), "a Go test binary holds more than 1 MiB")
}
