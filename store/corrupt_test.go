package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/ipfs/go-datastore"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/internal/diskfault"
	"github.com/headersync/headersync/store"
)

// fill writes n keys of about a header's size to a new store in dir and
// closes it cleanly, which leaves them in one table file; it returns the
// values by key.
func fill(t *testing.T, dir string, n int) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	ds, err := store.Open(dir)
	require.NoError(t, err)
	want := make(map[string][]byte, n)
	b, err := ds.Batch(ctx)
	require.NoError(t, err)
	for range n {
		v := make([]byte, 300)
		_, _ = rand.Read(v)
		k := datastore.NewKey(fmt.Sprintf("/headerEx/%X", v[:32]))
		want[k.String()] = v
		require.NoError(t, b.Put(ctx, k, v))
	}
	require.NoError(t, b.Commit(ctx))
	require.NoError(t, ds.Close())
	return want
}

// onlyTable returns the one table file in dir.
func onlyTable(t *testing.T, dir string) string {
	t.Helper()
	tables, err := diskfault.Tables(dir)
	require.NoError(t, err)
	require.Len(t, tables, 1, "a clean close flushes everything to one table")
	return tables[0]
}

// syncBuffer is a log destination safe for pebble's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A flipped byte in a data block fails the reads of the keys in that block
// with ErrCorrupt, and nothing else: pebble's default handler ended the
// process on the first such read. The damage is logged once, however often
// it is read.
func TestCorruptBlockFailsOnlyItsReads(t *testing.T) {
	dir := t.TempDir()
	want := fill(t, dir, 3000)
	table := onlyTable(t, dir)
	blocks, err := diskfault.DataBlocks(table)
	require.NoError(t, err)
	require.Greater(t, len(blocks), 10)
	block := blocks[len(blocks)/2]
	inBlock, err := diskfault.KeysIn(table, block)
	require.NoError(t, err)
	require.NotEmpty(t, inBlock)
	damaged := make(map[string]bool)
	for _, k := range inBlock {
		damaged[string(k)] = true
	}
	require.NoError(t, diskfault.FlipBlock(table, block))

	var logs syncBuffer
	ds, err := store.Open(dir, store.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err, "a damaged data block is found on read, not at open")
	defer ds.Close()
	ctx := context.Background()
	for round := 0; round < 2; round++ {
		for k, v := range want {
			key := datastore.NewKey(k)
			got, err := ds.Get(ctx, key)
			if !damaged[k] {
				require.NoError(t, err, "key %s is not in the damaged block", k)
				require.Equal(t, v, got)
				continue
			}
			require.ErrorIs(t, err, store.ErrCorrupt, "key %s", k)
			var corrupt *store.CorruptError
			require.ErrorAs(t, err, &corrupt)
			require.Equal(t, key, corrupt.Key)
			require.NotContains(t, err.Error(), "\n", "one line")
			require.Contains(t, err.Error(), "checksum")
			_, err = ds.Has(ctx, key)
			require.ErrorIs(t, err, store.ErrCorrupt)
		}
	}
	require.Equal(t, 1, strings.Count(logs.String(), "store corrupt"), "logged once:\n%s", logs.String())
	require.Contains(t, logs.String(), table)
}

// A table pebble cannot open at all (its footer is damaged) fails Open with
// ErrCorrupt; it is not mistaken for another node holding the lock, and the
// failed Open releases the lock.
func TestOpenCorruptTable(t *testing.T) {
	dir := t.TempDir()
	fill(t, dir, 500)
	require.NoError(t, diskfault.FlipFooter(onlyTable(t, dir)))
	for range 2 {
		_, err := store.Open(dir)
		require.ErrorIs(t, err, store.ErrCorrupt)
		require.NotErrorIs(t, err, store.ErrLocked)
		require.NotContains(t, err.Error(), "another node")
		require.NotContains(t, err.Error(), "\n", "one line")
	}
}

// A missing table file fails Open saying so, not blaming another node.
func TestOpenMissingTable(t *testing.T) {
	dir := t.TempDir()
	fill(t, dir, 500)
	require.NoError(t, os.Remove(onlyTable(t, dir)))
	_, err := store.Open(dir)
	require.Error(t, err)
	require.NotErrorIs(t, err, store.ErrLocked)
	require.NotContains(t, err.Error(), "another node")
	require.ErrorContains(t, err, "missing")
}
