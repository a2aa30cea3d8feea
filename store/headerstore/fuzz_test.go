package headerstore_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/celestiaorg/go-header"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/store/headerstore"
	"github.com/headersync/headersync/types"
)

// model is what a store must hold: the chain's heights [base, head].
type model struct {
	base, head uint64 // 0, 0 while empty
}

func (m model) has(height uint64) bool {
	return m.head != 0 && height >= m.base && height <= m.head && height != 0
}

// FuzzStore drives a random sequence of writes and reads, two bytes an
// operation, against the model, and checks every answer.
func FuzzStore(f *testing.F) {
	f.Add([]byte{0, 0, 1, 7, 1, 3, 4, 5, 5, 0x32, 7, 0x21, 6, 4})
	f.Add([]byte{0, 9, 1, 7, 2, 1, 3, 0, 9, 12, 8, 0, 4, 3, 5, 0x71})
	f.Add([]byte{1, 1, 4, 0, 0, 3, 1, 7, 1, 7, 9, 20, 8, 0, 7, 0xf0, 6, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 256 {
			return
		}
		chain, _, alien := chains(t)
		db := store.Memory()
		defer db.Close()
		open := func() *headerstore.Store[*types.SignedHeader] {
			st, err := headerstore.New[*types.SignedHeader](db.Pebble(), prefix)
			require.NoError(t, err)
			return st
		}
		st := open()
		var m model
		ctx := context.Background()
		done, cancel := context.WithCancel(ctx)
		cancel()
		at := func(height uint64) *types.SignedHeader { return chain[height-1] }

		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i]%10, uint64(ops[i+1])
			switch op {
			case 0: // init
				base := arg%32 + 1
				err := st.Init(ctx, at(base))
				if m.head != 0 {
					require.ErrorIs(t, err, headerstore.ErrAlreadyInitialized)
					continue
				}
				require.NoError(t, err)
				m = model{base: base, head: base}
			case 1: // append the next headers
				n := min(arg%8+1, uint64(len(chain))-m.head)
				if n == 0 {
					continue
				}
				err := st.Append(ctx, chain[m.head:m.head+n]...)
				if m.head == 0 {
					require.ErrorIs(t, err, header.ErrNoHead)
					continue
				}
				require.NoError(t, err)
				m.head += n
			case 2: // append at a nearby height
				height := m.head + 1 + arg%5 - 2
				if m.head == 0 || height == 0 || height > uint64(len(chain)) || height == m.head+1 {
					continue
				}
				var nonAdj *header.ErrNonAdjacent
				require.ErrorAs(t, st.Append(ctx, at(height)), &nonAdj)
				require.Equal(t, header.ErrNonAdjacent{Head: m.head, Attempted: height}, *nonAdj)
			case 3: // append a header that does not extend the head
				if m.head == 0 || m.head == uint64(len(chain)) {
					continue
				}
				var verr *header.VerifyError
				require.ErrorAs(t, st.Append(ctx, alien[m.head]), &verr)
			case 4: // by height
				height := arg % (m.head + 3)
				got, err := st.GetByHeight(done, height)
				switch {
				case m.has(height):
					require.NoError(t, err)
					require.Equal(t, at(height).Hash(), got.Hash())
				case height > m.head && height != 0:
					require.ErrorIs(t, err, context.Canceled, "height %d waits", height)
				default:
					require.ErrorIs(t, err, header.ErrNotFound)
				}
				require.Equal(t, m.has(height), st.HasAt(ctx, height))
			case 5: // range
				from := (arg & 0x0f) % (m.head + 2)
				to := from + arg>>4%9
				rctx := ctx // a range that would wait is asked with an ended ctx
				if to > m.head+1 {
					rctx = done
				}
				got, err := st.GetRange(rctx, from, to)
				switch {
				case from >= to:
					require.ErrorIs(t, err, headerstore.ErrInvalidRange)
				case to-1 > m.head:
					require.ErrorIs(t, err, context.Canceled)
				case !m.has(from):
					require.ErrorIs(t, err, header.ErrNotFound)
				default:
					require.NoError(t, err)
					require.Len(t, got, int(to-from))
					for j, h := range got {
						require.Equal(t, at(from+uint64(j)).Hash(), h.Hash())
					}
				}
			case 6: // by hash
				height := arg%(m.head+2) + 1
				if height > uint64(len(chain)) {
					continue
				}
				hash := at(height).Hash()
				if arg%2 == 1 {
					hash = alien[height-1].Hash()
				}
				want := m.has(height) && arg%2 == 0
				ok, err := st.Has(ctx, hash)
				require.NoError(t, err)
				require.Equal(t, want, ok)
				got, err := st.Get(ctx, hash)
				raw, rawErr := st.BytesByHash(ctx, hash)
				if !want {
					require.ErrorIs(t, err, header.ErrNotFound)
					require.ErrorIs(t, rawErr, header.ErrNotFound)
					continue
				}
				require.NoError(t, err)
				require.NoError(t, rawErr)
				require.Equal(t, hash, got.Hash())
				require.Equal(t, encoded(t, at(height)), raw)
			case 7: // scan
				from := (arg & 0x0f) % (m.head + 2)
				to := from + arg>>4
				next := from
				require.NoError(t, st.ScanBytes(ctx, from, to, func(height uint64, raw []byte) error {
					require.Equal(t, next, height)
					require.True(t, bytes.Equal(encoded(t, at(height)), raw))
					next++
					return nil
				}))
				want := from
				for want < to && m.has(want) {
					want++
				}
				require.Equal(t, want, next, "scan [%d, %d) with %+v", from, to, m)
			case 8: // reopen
				st = open()
			case 9: // delete below
				height := arg % (m.head + 2)
				require.NoError(t, st.DeleteBelow(ctx, height))
				if m.head != 0 && height > m.base {
					m.base = min(height, m.head)
				}
			}
			require.Equal(t, m.head, st.Height(), "op %d", i/2)
			require.Equal(t, m.base, st.Base(), "op %d", i/2)
			head, err := st.Head(ctx)
			if m.head == 0 {
				require.True(t, errors.Is(err, header.ErrNoHead))
				continue
			}
			require.NoError(t, err)
			require.Equal(t, at(m.head).Hash(), head.Hash())
		}
	})
}
