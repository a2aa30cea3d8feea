package types

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/headersync/headersync/internal/atomicfile"
)

// ErrInvalidGenesis is wrapped by every error Genesis.Validate returns.
var ErrInvalidGenesis = errors.New("invalid genesis")

// Format names a chain's header format: how its headers and blocks are
// encoded, hashed and signed, and how its networks are named.
type Format string

const (
	// FormatHeadersync is this project's own format (the default).
	FormatHeadersync Format = "headersync"
	// FormatRollkit013 is rollkit v0.13's (package types/rollkit): its
	// genesis is CometBFT's genesis.json.
	FormatRollkit013 Format = "rollkit-v0.13"
)

// OrDefault returns f, or FormatHeadersync when f is unset.
func (f Format) OrDefault() Format {
	if f == "" {
		return FormatHeadersync
	}
	return f
}

// ParseFormat reads a format name; "" is FormatHeadersync.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case "", FormatHeadersync:
		return FormatHeadersync, nil
	case FormatRollkit013:
		return FormatRollkit013, nil
	}
	return "", fmt.Errorf("format %q; expected %q or %q", s, FormatHeadersync, FormatRollkit013)
}

// Genesis fixes what every node of a chain must agree on before the first
// block: the chain ID, the height of the first block, the genesis time and
// the public key of the only sequencer allowed to sign headers, and the
// chain's header format. A rollkit chain's genesis is read from its
// CometBFT genesis.json (rollkit.LoadGenesis); this package's file format
// is the native one.
type Genesis struct {
	ChainID         string
	InitialHeight   uint64
	GenesisTime     time.Time
	SequencerPubKey ed25519.PublicKey
	// Format is the chain's header format; "" is FormatHeadersync.
	Format Format
}

// HeaderFormat returns g's format, FormatHeadersync when unset.
func (g *Genesis) HeaderFormat() Format { return g.Format.OrDefault() }

// genesisJSON is the file format: the key is hex, the time RFC 3339.
type genesisJSON struct {
	ChainID         string    `json:"chain_id"`
	InitialHeight   uint64    `json:"initial_height"`
	GenesisTime     time.Time `json:"genesis_time"`
	SequencerPubKey string    `json:"sequencer_pubkey"`
}

// Validate checks every field; errors name the JSON field.
func (g *Genesis) Validate() error {
	if _, err := ParseFormat(string(g.Format)); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidGenesis, err)
	}
	if err := g.validateChainID(); err != nil {
		return fmt.Errorf("%w: chain_id: %w", ErrInvalidGenesis, err)
	}
	if g.InitialHeight == 0 {
		return fmt.Errorf("%w: initial_height is 0; expected 1 or more", ErrInvalidGenesis)
	}
	if g.GenesisTime.IsZero() || g.GenesisTime.UnixNano() <= 0 {
		return fmt.Errorf("%w: genesis_time %q; expected an RFC 3339 time after 1970", ErrInvalidGenesis, g.GenesisTime.Format(time.RFC3339))
	}
	if len(g.SequencerPubKey) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: sequencer_pubkey has %d bytes; expected %d (64 hex digits)", ErrInvalidGenesis, len(g.SequencerPubKey), ed25519.PublicKeySize)
	}
	return nil
}

// validateChainID applies the chain-ID rule of g's format.
func (g *Genesis) validateChainID() error { return g.HeaderFormat().ValidateChainID(g.ChainID) }

// ValidateChainID applies the format's chain-ID rule: this project's
// (ValidateChainID), or for rollkit chains CometBFT's (1 to 50 bytes)
// without the characters libp2p protocol and topic names cannot carry
// ('/', spaces, control characters), which rollkit's own names would break
// on too.
func (f Format) ValidateChainID(id string) error {
	if f != FormatRollkit013 {
		return ValidateChainID(id)
	}
	if id == "" || len(id) > MaxChainIDLen {
		return fmt.Errorf("%w: %d bytes; expected 1 to %d", ErrInvalidChainID, len(id), MaxChainIDLen)
	}
	if i := strings.IndexFunc(id, func(r rune) bool { return r == '/' || unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
		return fmt.Errorf("%w: %q contains %q, which network names cannot carry", ErrInvalidChainID, id, []rune(id[i:])[0])
	}
	return nil
}

// SequencerAddress is the proposer address every header must carry.
func (g *Genesis) SequencerAddress() []byte { return Address(g.SequencerPubKey) }

// MarshalJSON encodes g in the genesis file format. A rollkit chain's
// genesis is its own CometBFT file, which this does not write.
func (g Genesis) MarshalJSON() ([]byte, error) {
	if g.HeaderFormat() != FormatHeadersync {
		return nil, fmt.Errorf("%w: a %s genesis is kept in its own file format", ErrInvalidGenesis, g.Format)
	}
	return json.Marshal(genesisJSON{
		ChainID:         g.ChainID,
		InitialHeight:   g.InitialHeight,
		GenesisTime:     g.GenesisTime.UTC(),
		SequencerPubKey: hex.EncodeToString(g.SequencerPubKey),
	})
}

// UnmarshalJSON decodes the genesis file format strictly: unknown fields are
// errors, so a typo is not silently ignored.
func (g *Genesis) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var j genesisJSON
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidGenesis, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the JSON object", ErrInvalidGenesis)
	}
	key, err := hex.DecodeString(j.SequencerPubKey)
	if err != nil {
		return fmt.Errorf("%w: sequencer_pubkey %q: %w; expected 64 hex digits", ErrInvalidGenesis, j.SequencerPubKey, err)
	}
	*g = Genesis{
		ChainID:         j.ChainID,
		InitialHeight:   j.InitialHeight,
		GenesisTime:     j.GenesisTime.UTC(),
		SequencerPubKey: key,
	}
	return nil
}

// LoadGenesis reads and validates a genesis file.
func LoadGenesis(path string) (*Genesis, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read genesis: %w", err)
	}
	g, err := ParseGenesis(data)
	if err != nil {
		return nil, fmt.Errorf("genesis %s: %w", path, err)
	}
	return g, nil
}

// ParseGenesis decodes and validates a genesis file's bytes.
func ParseGenesis(data []byte) (*Genesis, error) {
	var g Genesis
	if err := g.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return &g, nil
}

// Save validates g and writes it to path atomically: a crash leaves either
// the old file or the new one, never a partial file.
func (g *Genesis) Save(path string) error {
	if err := g.Validate(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return fmt.Errorf("encode genesis: %w", err)
	}
	return atomicfile.Write(path, append(data, '\n'), 0o644)
}
