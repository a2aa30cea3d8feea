package store_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/store"
)

var key = datastore.NewKey("/headerEx/head")

func TestOpenPersistsAndLocks(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()

	ds, err := store.Open(dir)
	require.NoError(t, err)
	require.NoError(t, ds.Put(ctx, key, []byte("v")))

	_, err = store.Open(dir)
	require.ErrorIs(t, err, store.ErrLocked)
	require.ErrorContains(t, err, "another node", "a second process must not open the same data dir")

	require.NoError(t, ds.Close())
	ds, err = store.Open(dir)
	require.NoError(t, err)
	defer ds.Close()
	v, err := ds.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, []byte("v"), v)
}

// childEnv makes the test binary act as a node process that commits a batch
// and then waits to be killed.
const childEnv = "HEADERSYNC_STORE_KILL_CHILD"

// A committed batch survives SIGKILL of the process that wrote it: pebble's
// default, NoSync, lost it (found by the end-to-end kill -9 test).
func TestCommittedBatchSurvivesKill9(t *testing.T) {
	if dir := os.Getenv(childEnv); dir != "" {
		ds, err := store.Open(dir)
		require.NoError(t, err)
		b, err := ds.Batch(context.Background())
		require.NoError(t, err)
		require.NoError(t, b.Put(context.Background(), key, []byte("committed")))
		require.NoError(t, b.Commit(context.Background()))
		os.Stdout.WriteString("committed\n")
		time.Sleep(time.Minute) // killed long before
		return
	}

	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestCommittedBatchSurvivesKill9$")
	child.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "committed\n", line)
	require.NoError(t, child.Process.Kill())
	_ = child.Wait() // killed: the error is expected

	ds, err := store.Open(dir)
	require.NoError(t, err)
	defer ds.Close()
	v, err := ds.Get(context.Background(), key)
	require.NoError(t, err, "a committed write was lost to SIGKILL")
	require.Equal(t, []byte("committed"), v)
}

// Close may be called twice, as go-ds-pebble's allows: stops and test
// cleanups both close the datastore. The lock is released once.
func TestCloseTwice(t *testing.T) {
	dir := t.TempDir()
	ds, err := store.Open(dir)
	require.NoError(t, err)
	require.NoError(t, ds.Close())
	require.NoError(t, ds.Close())
	again, err := store.Open(dir)
	require.NoError(t, err, "the lock was released")
	require.NoError(t, again.Close())
}

// A memory database runs the code a database on disk runs: the datastore
// and pebble beneath it see the same keys, and pebble's metrics count
// writes.
func TestMemoryIsPebble(t *testing.T) {
	ctx := context.Background()
	db := store.Memory()
	defer db.Close()
	require.NoError(t, db.Put(ctx, key, []byte("v")))
	v, closer, err := db.Pebble().Get([]byte(key.String()))
	require.NoError(t, err)
	require.Equal(t, []byte("v"), v)
	require.NoError(t, closer.Close())

	written, _ := db.DiskStats()
	require.NotZero(t, written, "the write-ahead log counts")
}

func TestDiskStats(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(t.TempDir())
	require.NoError(t, err)
	defer db.Close()
	w0, _ := db.DiskStats()
	b, err := db.Batch(ctx)
	require.NoError(t, err)
	for i := range 1000 {
		v := make([]byte, 1000) // random: pebble compresses the tables
		_, _ = rand.Read(v)
		require.NoError(t, b.Put(ctx, datastore.NewKey(fmt.Sprintf("/k/%06d", i)), v))
	}
	require.NoError(t, b.Commit(ctx))
	require.NoError(t, db.Pebble().Flush())
	written, size := db.DiskStats()
	require.GreaterOrEqual(t, written-w0, uint64(2*1000*1000), "the log and the flushed table")
	require.Greater(t, size, uint64(0))
}
