package config

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/headersync/headersync/internal/atomicfile"
	"github.com/headersync/headersync/types"
)

// ErrBadKeyFile is wrapped by errors about unreadable key files.
var ErrBadKeyFile = errors.New("corrupt key file")

type sequencerKeyJSON struct {
	Type string `json:"type"`
	Seed string `json:"seed"` // 32-byte ed25519 seed, hex
}

// SaveSequencerKey writes the signer's key to path (mode 0600). It refuses
// to overwrite an existing file: losing a sequencer key ends the chain.
func SaveSequencerKey(path string, s *types.Signer) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("save sequencer key: %s already exists", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("save sequencer key: %w", err)
	}
	data, err := json.MarshalIndent(sequencerKeyJSON{Type: "ed25519", Seed: hex.EncodeToString(s.PrivateKey().Seed())}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode sequencer key: %w", err)
	}
	return atomicfile.Write(path, append(data, '\n'), 0o600)
}

// LoadSequencerKey reads a key written by SaveSequencerKey.
func LoadSequencerKey(path string) (*types.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read sequencer key: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var k sequencerKeyJSON
	if err := dec.Decode(&k); err != nil {
		return nil, fmt.Errorf("sequencer key %s: %w: %w", path, ErrBadKeyFile, err)
	}
	if k.Type != "ed25519" {
		return nil, fmt.Errorf("sequencer key %s: %w: type %q, expected ed25519", path, ErrBadKeyFile, k.Type)
	}
	seed, err := hex.DecodeString(k.Seed)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("sequencer key %s: %w: seed must be %d bytes of hex", path, ErrBadKeyFile, ed25519.SeedSize)
	}
	return types.NewSigner(ed25519.NewKeyFromSeed(seed))
}
