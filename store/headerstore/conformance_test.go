package headerstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/celestiaorg/go-header"
	"github.com/stretchr/testify/require"
)

// A conformance case runs against an open store; reopen closes it and opens
// the same directory again. newStore is true for this package's store, for
// the few answers where it departs from go-header on purpose.
type conformanceCase[H header.Header[H]] struct {
	name string
	run  func(t *testing.T, env *env[H])
}

type env[H header.Header[H]] struct {
	fixture[H]
	st       header.Store[H]
	newStore bool
	reopen   func()
}

// at returns the chain's header at height (the chain begins at 1).
func (e *env[H]) at(height uint64) H { return e.chain[height-1] }

// upTo stores the chain up to height, from init at base.
func (e *env[H]) upTo(t *testing.T, base, height uint64) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, e.st.Init(ctx, e.at(base)))
	if height > base {
		require.NoError(t, e.st.Append(ctx, e.chain[base:height]...))
	}
	e.requireHeight(t, height)
}

// requireHeight waits for the store's Height to reach height: go-header's
// store raises it when its write loop takes the headers, after Append
// returned; this package's before Append returns.
func (e *env[H]) requireHeight(t *testing.T, height uint64) {
	t.Helper()
	if e.newStore {
		require.Equal(t, height, e.st.Height())
		return
	}
	require.Eventually(t, func() bool { return e.st.Height() == height }, 5*time.Second, time.Millisecond)
}

func requireSame[H header.Header[H]](t *testing.T, want, got H) {
	t.Helper()
	require.Equal(t, want.Height(), got.Height())
	require.Equal(t, want.Hash(), got.Hash())
}

func requireRange[H header.Header[H]](t *testing.T, e *env[H], from, to uint64, got []H) {
	t.Helper()
	require.Len(t, got, int(to-from))
	for i, h := range got {
		requireSame(t, e.at(from+uint64(i)), h)
	}
}

func shortCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

func conformanceCases[H header.Header[H]]() []conformanceCase[H] {
	ctx := context.Background()
	return []conformanceCase[H]{
		{"empty", func(t *testing.T, e *env[H]) {
			_, err := e.st.Head(ctx)
			require.ErrorIs(t, err, header.ErrNoHead)
			require.Zero(t, e.st.Height())
			require.ErrorIs(t, e.st.Append(ctx, e.at(1)), header.ErrNoHead)
			ok, err := e.st.Has(ctx, e.at(1).Hash())
			require.NoError(t, err)
			require.False(t, ok)
			require.False(t, e.st.HasAt(ctx, 1))
		}},
		{"append in order", func(t *testing.T, e *env[H]) {
			require.NoError(t, e.st.Init(ctx, e.at(1)))
			require.NoError(t, e.st.Append(ctx, e.chain[1:10]...))
			require.NoError(t, e.st.Append(ctx, e.at(11)))
			require.NoError(t, e.st.Append(ctx))
			e.requireHeight(t, 11)
			head, err := e.st.Head(ctx)
			require.NoError(t, err)
			requireSame(t, e.at(11), head)
			for height := uint64(1); height <= 11; height++ {
				got, err := e.st.GetByHeight(ctx, height)
				require.NoError(t, err)
				requireSame(t, e.at(height), got)
				got, err = e.st.Get(ctx, e.at(height).Hash())
				require.NoError(t, err)
				requireSame(t, e.at(height), got)
				ok, err := e.st.Has(ctx, e.at(height).Hash())
				require.NoError(t, err)
				require.True(t, ok)
				require.True(t, e.st.HasAt(ctx, height))
			}
		}},
		{"init twice", func(t *testing.T, e *env[H]) {
			e.upTo(t, 1, 3)
			require.Error(t, e.st.Init(ctx, e.at(4)))
		}},
		{"non-adjacent refused", func(t *testing.T, e *env[H]) {
			e.upTo(t, 1, 10)
			var nonAdj *header.ErrNonAdjacent
			require.ErrorAs(t, e.st.Append(ctx, e.at(12)), &nonAdj)
			require.Equal(t, header.ErrNonAdjacent{Head: 10, Attempted: 12}, *nonAdj)
			// A gap inside the batch refuses all of it.
			require.ErrorAs(t, e.st.Append(ctx, e.at(11), e.at(13)), &nonAdj)
			require.Equal(t, header.ErrNonAdjacent{Head: 11, Attempted: 13}, *nonAdj)
			e.requireHeight(t, 10)
		}},
		{"already stored refused", func(t *testing.T, e *env[H]) {
			e.upTo(t, 1, 10)
			var nonAdj *header.ErrNonAdjacent
			require.ErrorAs(t, e.st.Append(ctx, e.at(5)), &nonAdj)
			require.Equal(t, header.ErrNonAdjacent{Head: 10, Attempted: 5}, *nonAdj)
			require.ErrorAs(t, e.st.Append(ctx, e.at(10), e.at(11)), &nonAdj)
			require.Equal(t, header.ErrNonAdjacent{Head: 10, Attempted: 10}, *nonAdj)
			e.requireHeight(t, 10)
		}},
		{"invalid header stops the batch", func(t *testing.T, e *env[H]) {
			e.upTo(t, 1, 10)
			// The alien 11 does not extend 10: nothing is stored.
			var verr *header.VerifyError
			require.ErrorAs(t, e.st.Append(ctx, e.alien[10], e.at(12)), &verr)
			e.requireHeight(t, 10)
			// 11 and 12 are stored, the alien 13 refused, 14 not tried.
			require.ErrorAs(t, e.st.Append(ctx, e.at(11), e.at(12), e.alien[12], e.at(14)), &verr)
			e.requireHeight(t, 12)
			head, err := e.st.Head(ctx)
			require.NoError(t, err)
			requireSame(t, e.at(12), head)
			ok, err := e.st.Has(ctx, e.alien[12].Hash())
			require.NoError(t, err)
			require.False(t, ok)
		}},
		{"ranges at the edges", func(t *testing.T, e *env[H]) {
			e.upTo(t, 1, 20)
			got, err := e.st.GetRange(ctx, 1, 21)
			require.NoError(t, err)
			requireRange(t, e, 1, 21, got)
			got, err = e.st.GetRange(ctx, 1, 2)
			require.NoError(t, err)
			requireRange(t, e, 1, 2, got)
			got, err = e.st.GetRange(ctx, 20, 21)
			require.NoError(t, err)
			requireRange(t, e, 20, 21, got)
			got, err = e.st.GetRangeByHeight(ctx, e.at(1), 21)
			require.NoError(t, err)
			requireRange(t, e, 2, 21, got)
			got, err = e.st.GetRangeByHeight(ctx, e.at(19), 21)
			require.NoError(t, err)
			requireRange(t, e, 20, 21, got)

			_, err = e.st.GetRange(ctx, 5, 5)
			require.Error(t, err, "empty range")
			_, err = e.st.GetRange(ctx, 6, 5)
			require.Error(t, err, "reversed range")
			_, err = e.st.GetRangeByHeight(ctx, e.at(20), 21)
			require.Error(t, err, "empty range after the head")
			_, err = e.st.GetRange(ctx, 0, 3)
			require.ErrorIs(t, err, header.ErrNotFound, "height 0 is never stored")

			// Past the head: both wait for the range's last height.
			_, err = e.st.GetRange(shortCtx(t), 15, 22)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			_, err = e.st.GetRange(shortCtx(t), 21, 22)
			require.ErrorIs(t, err, context.DeadlineExceeded)
		}},
		{"ranges below a trusted base", func(t *testing.T, e *env[H]) {
			e.upTo(t, 10, 20)
			got, err := e.st.GetRange(ctx, 10, 21)
			require.NoError(t, err)
			requireRange(t, e, 10, 21, got)
			_, err = e.st.GetRange(ctx, 9, 12)
			require.ErrorIs(t, err, header.ErrNotFound)
			_, err = e.st.GetByHeight(ctx, 9)
			require.ErrorIs(t, err, header.ErrNotFound)
			_, err = e.st.Get(ctx, e.at(9).Hash())
			require.ErrorIs(t, err, header.ErrNotFound)
			// go-header answers HasAt from its head alone.
			require.Equal(t, !e.newStore, e.st.HasAt(ctx, 9))
			require.True(t, e.st.HasAt(ctx, 10))
		}},
		{"absent lookups", func(t *testing.T, e *env[H]) {
			e.upTo(t, 1, 10)
			_, err := e.st.Get(ctx, e.at(11).Hash())
			require.ErrorIs(t, err, header.ErrNotFound)
			_, err = e.st.Get(ctx, e.alien[3].Hash())
			require.ErrorIs(t, err, header.ErrNotFound)
			ok, err := e.st.Has(ctx, e.alien[3].Hash())
			require.NoError(t, err)
			require.False(t, ok)
			ok, err = e.st.Has(ctx, e.at(11).Hash())
			require.NoError(t, err)
			require.False(t, ok)
			require.False(t, e.st.HasAt(ctx, 0))
			require.False(t, e.st.HasAt(ctx, 11))
			// Height 0: an error from both, header.ErrNotFound from ours.
			_, err = e.st.GetByHeight(ctx, 0)
			require.Error(t, err)
			if e.newStore {
				require.ErrorIs(t, err, header.ErrNotFound)
			}
			// Above the head: both wait.
			_, err = e.st.GetByHeight(shortCtx(t), 11)
			require.ErrorIs(t, err, context.DeadlineExceeded)
		}},
		{"get by height waits for the height", func(t *testing.T, e *env[H]) {
			e.upTo(t, 1, 10)
			type result struct {
				h   H
				err error
			}
			waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			done := make(chan result, 1)
			go func() {
				h, err := e.st.GetByHeight(waitCtx, 12)
				done <- result{h, err}
			}()
			require.NoError(t, e.st.Append(ctx, e.at(11)))
			select {
			case r := <-done:
				t.Fatalf("returned before height 12 was appended: %v", r.err)
			default:
			}
			require.NoError(t, e.st.Append(ctx, e.at(12)))
			select {
			case r := <-done:
				require.NoError(t, r.err)
				requireSame(t, e.at(12), r.h)
			case <-time.After(5 * time.Second):
				t.Fatal("GetByHeight did not return once its height was appended")
			}
		}},
		{"get by height ends with its ctx", func(t *testing.T, e *env[H]) {
			e.upTo(t, 1, 10)
			waitCtx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() {
				_, err := e.st.GetByHeight(waitCtx, 15)
				done <- err
			}()
			cancel()
			select {
			case err := <-done:
				require.ErrorIs(t, err, context.Canceled)
			case <-time.After(5 * time.Second):
				t.Fatal("GetByHeight did not return when its ctx ended")
			}
		}},
		{"head after restart", func(t *testing.T, e *env[H]) {
			e.upTo(t, 3, 40)
			e.reopen()
			head, err := e.st.Head(ctx)
			require.NoError(t, err)
			requireSame(t, e.at(40), head)
			e.requireHeight(t, 40)
			got, err := e.st.GetRange(ctx, 3, 41)
			require.NoError(t, err)
			requireRange(t, e, 3, 41, got)
			require.NoError(t, e.st.Append(ctx, e.at(41)))
			e.reopen()
			head, err = e.st.Head(ctx)
			require.NoError(t, err)
			requireSame(t, e.at(41), head)
			_, err = e.st.GetByHeight(ctx, 2)
			require.ErrorIs(t, err, header.ErrNotFound)
		}},
		{"empty after restart", func(t *testing.T, e *env[H]) {
			e.reopen()
			_, err := e.st.Head(ctx)
			require.ErrorIs(t, err, header.ErrNoHead)
			require.NoError(t, e.st.Init(ctx, e.at(1)))
		}},
	}
}

func runConformance[H header.Header[H]](t *testing.T, fx fixture[H]) {
	for _, im := range impls[H]() {
		for _, c := range conformanceCases[H]() {
			t.Run(im.name+"/"+c.name, func(t *testing.T) {
				dir := t.TempDir()
				st, closeStore := im.open(t, dir)
				e := &env[H]{fixture: fx, st: st, newStore: im.name == "headerstore"}
				e.reopen = func() {
					closeStore()
					e.st, closeStore = im.open(t, dir)
				}
				defer func() { closeStore() }()
				c.run(t, e)
			})
		}
	}
}

func TestConformanceSignedHeaders(t *testing.T) {
	runConformance(t, headerFixture(t))
}

func TestConformanceBlocks(t *testing.T) {
	runConformance(t, blockFixture(t))
}
