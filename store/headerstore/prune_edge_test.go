package headerstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/celestiaorg/go-header"
	"github.com/stretchr/testify/require"
)

// While DeleteBelow raises the base, a height at or above the base is never
// missing: a read that finds no header there finds the base above it when it
// looks again. Readers (the API's "pruned: this node keeps heights B..H",
// the exchange server, the cross-check) take a missing height at or above
// the base for a hole in the store, or tell a peer a base the node no longer
// keeps.
func TestDeleteBelowRaisesTheBaseFirst(t *testing.T) {
	chain, _, _ := chains(t)
	ctx := context.Background()
	db, st := openDisk(t, t.TempDir())
	defer db.Close()
	require.NoError(t, st.Init(ctx, chain[0]))
	require.NoError(t, st.Append(ctx, chain[1:400]...))

	const last = 300
	var (
		wg       sync.WaitGroup
		pruneErr error
		pruned   = make(chan struct{})
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(pruned)
		for b := uint64(2); b <= last; b++ {
			if pruneErr = st.DeleteBelow(ctx, b); pruneErr != nil {
				return
			}
		}
	}()
	defer wg.Wait() // before the database closes, whatever failed

	reads, missing := 0, 0
	for done := false; !done; {
		select {
		case <-pruned:
			done = true // one more round, at the last base
		default:
		}
		base := st.Base()
		_, err := st.GetByHeight(ctx, base)
		scanned := 0
		scanErr := st.ScanBytes(ctx, base, base+8, func(uint64, []byte) error { scanned++; return nil })
		require.NoError(t, scanErr)
		switch {
		case err == nil && scanned == 8:
		case err == nil || errors.Is(err, header.ErrNotFound):
			missing++
			require.Greater(t, st.Base(), base, "height %d read as missing (header: %v, %d of 8 scanned) while the base is still %d", base, err, scanned, st.Base())
		default:
			require.NoError(t, err)
		}
		reads++
	}
	wg.Wait()
	require.NoError(t, pruneErr)
	require.EqualValues(t, last, st.Base())
	t.Logf("%d reads at the base, %d found it pruned meanwhile", reads, missing)
}
