package p2p

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
)

// Identity key file format: one line holding the hex encoding of the libp2p
// protobuf-marshalled private key (crypto.MarshalPrivateKey), followed by a
// newline. Only Ed25519 keys are accepted. The file is created with mode 0600
// and never rewritten.

// LoadIdentity reads the node's private key from path without creating it.
// A missing file yields an error matching fs.ErrNotExist; a file that exists
// but holds no valid Ed25519 key yields one matching ErrInvalidIdentity.
func LoadIdentity(path string) (crypto.PrivKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read identity key %s: %w", path, err)
	}
	key, err := decodeIdentity(raw)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrInvalidIdentity, path, err)
	}
	return key, nil
}

// LoadOrCreateIdentity returns the key stored at path, creating a new Ed25519
// key there on first use. An existing file is never replaced: if it is
// corrupt the error says so and the file stays untouched for the operator.
func LoadOrCreateIdentity(path string) (crypto.PrivKey, error) {
	key, err := LoadIdentity(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key, _, err = crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate identity key: %w", err)
	}
	err = writeIdentity(path, key)
	if errors.Is(err, fs.ErrExist) {
		// Another process created the key between our read and our write;
		// its key is the node's identity now.
		return LoadIdentity(path)
	}
	if err != nil {
		return nil, err
	}
	return key, nil
}

func decodeIdentity(raw []byte) (crypto.PrivKey, error) {
	text := bytes.TrimSpace(raw)
	if len(text) == 0 {
		return nil, errors.New("the file is empty")
	}
	der := make([]byte, hex.DecodedLen(len(text)))
	if _, err := hex.Decode(der, text); err != nil {
		return nil, fmt.Errorf("not hex: %w", err)
	}
	key, err := crypto.UnmarshalPrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("not a libp2p private key: %w", err)
	}
	if key.Type() != cryptopb.KeyType_Ed25519 {
		return nil, fmt.Errorf("key type %s, want Ed25519", key.Type())
	}
	return key, nil
}

// writeIdentity stores key at path atomically: readers see either no file or
// the whole key, even after a crash. It fails with fs.ErrExist rather than
// replace a file that appeared meanwhile.
func writeIdentity(path string, key crypto.PrivKey) error {
	der, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return fmt.Errorf("marshal identity key: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create identity key directory: %w", err)
	}
	// CreateTemp makes the file 0600, so the key is never readable by others,
	// not even for a moment.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create identity key %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // after a link or a failure; a renamed file is gone already

	_, err = tmp.WriteString(hex.EncodeToString(der) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("write identity key %s: %w", path, err)
	}
	if err := publishFile(tmpName, path); err != nil {
		return fmt.Errorf("create identity key %s: %w", path, err)
	}
	return syncDir(dir)
}

// publishFile moves the finished temporary file to path. A hard link is used
// instead of a rename because it fails when path exists, so a key created
// concurrently is never replaced; rename is the fallback for filesystems
// without hard links.
func publishFile(tmpName, path string) error {
	err := os.Link(tmpName, path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	if _, statErr := os.Lstat(path); statErr == nil {
		return fs.ErrExist
	}
	return os.Rename(tmpName, path)
}

// syncDir makes the new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open identity key directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync identity key directory: %w", err)
	}
	return nil
}
