package config

import "path/filepath"

// Home is a node's home directory and the layout of the files in it.
type Home string

// ConfigFile is the node's config.toml.
func (h Home) ConfigFile() string { return filepath.Join(string(h), "config.toml") }

// GenesisFile is the chain's genesis.json.
func (h Home) GenesisFile() string { return filepath.Join(string(h), "genesis.json") }

// NodeKeyFile holds the node's libp2p identity.
func (h Home) NodeKeyFile() string { return filepath.Join(string(h), "node_key") }

// SequencerKeyFile holds the sequencer's signing key (sequencer only).
func (h Home) SequencerKeyFile() string { return filepath.Join(string(h), "sequencer_key.json") }

// SigningStateFile holds the last block the sequencer signed (sequencer
// only): its double-sign protection, kept beside the key and outside data/.
func (h Home) SigningStateFile() string { return filepath.Join(string(h), "sequencer_state.json") }

// DataDir holds the node's datastore.
func (h Home) DataDir() string { return filepath.Join(string(h), "data") }
