package p2p

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/backoff"
	"github.com/headersync/headersync/internal/loopback"
)

const seedUnreachable = "seed unreachable; will retry"

func TestFailureLogLevels(t *testing.T) {
	var f failureLog
	r := backoff.New(seedRetryMin, seedRetryMax)
	var got []slog.Level
	for range 9 {
		got = append(got, f.level(r.Next(), seedRetryMax))
	}
	w, d := slog.LevelWarn, slog.LevelDebug
	// Delays 1s 2s 4s 8s 10s 10s...: warn on the first failure and when
	// the cap is reached.
	assert.Equal(t, []slog.Level{w, d, d, d, w, d, d, d, d}, got)

	f.reset()
	assert.Equal(t, w, f.level(seedRetryMin, seedRetryMax), "a new streak warns again")
}

func TestSplitSeeds(t *testing.T) {
	self, a, b := peer.ID("self"), peer.ID("a"), peer.ID("b")
	seeds := []peer.AddrInfo{{ID: self}, {ID: a}, {ID: b}}

	dial, gated := splitSeeds(seeds, self, newPeerRules(nil, nil))
	assert.Equal(t, []peer.AddrInfo{{ID: a}, {ID: b}}, dial)
	assert.Empty(t, gated)

	dial, gated = splitSeeds(seeds, self, newPeerRules([]peer.ID{a}, nil))
	assert.Equal(t, []peer.AddrInfo{{ID: b}}, dial)
	assert.Equal(t, []peer.AddrInfo{{ID: a}}, gated)

	dial, gated = splitSeeds(seeds, self, newPeerRules([]peer.ID{a}, []peer.ID{a}))
	assert.Equal(t, []peer.AddrInfo{{ID: a}}, dial, "blocked and allowed: dialled")
	assert.Equal(t, []peer.AddrInfo{{ID: b}}, gated, "not in the allow-list: skipped")
}

func TestBlockedSeedIsSkippedWithOneWarning(t *testing.T) {
	_, seedID := newIdentity(t)
	_, otherID := newIdentity(t)
	cfg := loopbackConfig(
		"/ip4/127.0.0.1/tcp/1/p2p/"+seedID.String(),
		"/ip4/127.0.0.1/tcp/2/p2p/"+otherID.String(),
	)
	cfg.BlockedPeers = []string{seedID.String(), otherID.String()}
	cfg.AllowedPeers = nil
	rec := newRecorder(t)
	c := startClient(t, cfg, nil, slog.New(rec))

	assert.Empty(t, c.SeedIDs())
	const skipped = "not dialling seed: it is blocked or not allowed by the p2p configuration"
	assert.Equal(t, 2, rec.count(slog.LevelWarn, skipped), rec.dump())
	assert.Zero(t, rec.count(slog.LevelWarn, seedUnreachable), rec.dump())
}

// freeTCPPort returns a loopback TCP port that was free a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	port, err := loopback.FreePort()
	require.NoError(t, err)
	return port
}

func TestSeedIsRetriedUntilItComesUp(t *testing.T) {
	seedKey, seedID := newIdentity(t)
	port := freeTCPPort(t)
	seedCfg := config.P2PConfig{ListenAddress: []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)}}

	rec := newRecorder(t)
	n := startClient(t, loopbackConfig(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", port, seedID)), nil, slog.New(rec))
	require.Equal(t, []peer.ID{seedID}, n.SeedIDs())

	// The seed is down: the first failure is reported at Warn.
	require.Eventually(t, func() bool { return rec.count(slog.LevelWarn, seedUnreachable) == 1 }, eventually, tick)

	seed := startClient(t, seedCfg, seedKey, nil)
	require.Eventually(t, func() bool { return connected(n, seed) }, eventually, tick)

	// The seed goes away: the node notices, fails again (one more Warn for
	// the new streak of failures) and reconnects once the seed is back on
	// the same address.
	require.NoError(t, stopWithin(t, seed))
	require.Eventually(t, func() bool { return rec.count(slog.LevelWarn, seedUnreachable) == 2 }, eventually, tick)
	seed = startClient(t, seedCfg, seedKey, nil)
	require.Eventually(t, func() bool { return connected(n, seed) }, eventually, tick)

	// Retries between the warnings were logged at Debug only.
	assert.Equal(t, 2, rec.count(slog.LevelWarn, seedUnreachable), rec.dump())
	require.Eventually(t, func() bool { return rec.count(slog.LevelInfo, "connected to seed") == 2 }, eventually, tick, rec.dump())
}
