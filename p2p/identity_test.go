package p2p

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdentityIsCreatedOnceAndPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config", "node_key")

	key, err := LoadOrCreateIdentity(path)
	require.NoError(t, err)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), info.Mode().Perm())
	leftovers, err := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	require.NoError(t, err)
	assert.Empty(t, leftovers, "the temporary file is removed")

	again, err := LoadOrCreateIdentity(path)
	require.NoError(t, err)
	assert.True(t, key.Equals(again))
	loaded, err := LoadIdentity(path)
	require.NoError(t, err)
	assert.True(t, key.Equals(loaded))

	// The documented format: hex of the protobuf-marshalled key.
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	der, err := crypto.MarshalPrivateKey(key)
	require.NoError(t, err)
	assert.Equal(t, hex.EncodeToString(der)+"\n", string(raw))
}

func TestIdentitySurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node_key")
	start := func() string {
		key, err := LoadOrCreateIdentity(path)
		require.NoError(t, err)
		c, err := newClient(loopbackConfig(), key, testChainID, nil, testLogger(t))
		require.NoError(t, err)
		require.NoError(t, c.Start(context.Background()))
		id := c.Host().ID().String()
		require.NoError(t, stopWithin(t, c))
		return id
	}
	first := start()
	assert.Equal(t, first, start())
}

func TestCorruptIdentityIsReportedAndKept(t *testing.T) {
	valid, _, err := crypto.GenerateSecp256k1Key(rand.Reader)
	require.NoError(t, err)
	wrongType, err := crypto.MarshalPrivateKey(valid)
	require.NoError(t, err)

	for name, content := range map[string]string{
		"empty":          "",
		"blank":          " \n",
		"garbage":        "this is not a key\n",
		"hex, not a key": "deadbeef\n",
		"not ed25519":    hex.EncodeToString(wrongType) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "node_key")
			require.NoError(t, os.WriteFile(path, []byte(content), 0o600))

			_, err := LoadOrCreateIdentity(path)
			require.ErrorIs(t, err, ErrInvalidIdentity)
			assert.Contains(t, err.Error(), path)
			_, err = LoadIdentity(path)
			require.ErrorIs(t, err, ErrInvalidIdentity)

			after, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, content, string(after), "a corrupt key file is left untouched")
		})
	}
}

func TestLoadIdentityDoesNotCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node_key")
	_, err := LoadIdentity(path)
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), path)
	_, err = os.Stat(path)
	require.ErrorIs(t, err, fs.ErrNotExist)
}
