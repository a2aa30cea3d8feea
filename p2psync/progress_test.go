package p2psync

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProgressOf(t *testing.T) {
	p := progressOf(1000, 3000, 13000, 2*time.Second)
	require.True(t, p.behind)
	require.Equal(t, 1000.0, p.rate)
	require.Equal(t, 10*time.Second, p.eta)

	require.False(t, progressOf(10, 20, 20, time.Second).behind, "at the target is not behind")
	stalled := progressOf(20, 20, 100, time.Second)
	require.True(t, stalled.behind)
	require.Zero(t, stalled.eta, "no progress, no ETA")
}
