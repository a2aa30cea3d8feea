package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/celestiaorg/go-header"

	"github.com/headersync/headersync/types"
)

// Role is what a node does in the network.
type Role string

// The three roles.
const (
	// RoleSequencer produces and signs a block every BlockTime.
	RoleSequencer Role = "sequencer"
	// RoleFull syncs headers and blocks and checks one against the other.
	RoleFull Role = "full"
	// RoleLight syncs headers only.
	RoleLight Role = "light"
)

const expectRole = "sequencer, full or light"

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.TrimSpace(s)); r {
	case RoleSequencer, RoleFull, RoleLight:
		return r, nil
	}
	return "", fieldErr("role", s, expectRole, nil)
}

// SyncFrom is where a full or light node with an empty store begins its
// chain. It mirrors p2psync.SyncFrom, which node maps it to: config imports
// no service package.
type SyncFrom string

// Where a node can begin.
const (
	// SyncFromGenesis fetches the genesis header, then every header after
	// it: what a node that serves the whole chain needs.
	SyncFromGenesis SyncFrom = "genesis"
	// SyncFromHead starts at the network head, as the peers vote it, and
	// fills the headers below it backwards: a node useful in a second, for
	// one that keeps only a recent window (retain_headers).
	SyncFromHead SyncFrom = "head"
)

const expectSyncFrom = "genesis or head"

const expectFormat = `"headersync" or "rollkit-v0.13"`

// ParseSyncFrom parses a sync_from value.
func ParseSyncFrom(s string) (SyncFrom, error) {
	switch v := SyncFrom(s); v {
	case SyncFromGenesis, SyncFromHead:
		return v, nil
	}
	return "", fieldErr("sync_from", s, expectSyncFrom, nil)
}

// Duration is a time.Duration written as a string ("1s", "500ms") in TOML.
type Duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// NodeConfig is a node's configuration: config.toml in the node's home,
// overridden by command-line flags.
type NodeConfig struct {
	// Role is sequencer, full or light.
	Role Role `toml:"role"`
	// ChainID must equal the genesis chain ID; a guard against starting a
	// node with another chain's genesis.
	ChainID string `toml:"chain_id"`
	// Format is the chain's header format: "headersync" (the default) or
	// "rollkit-v0.13", whose genesis.json is rollkit's (CometBFT's) and
	// whose headers, hashes, signatures and network names are rollkit
	// v0.13's. A sequencer produces the native format only.
	Format types.Format `toml:"format"`
	// BlockTime is the sequencer's block interval. Every node sets it to the
	// sequencer's value: the syncer uses it to tell a stale head from a
	// fresh one.
	BlockTime Duration `toml:"block_time"`
	// TrustedHash, if set (hex), is the hash of the first header a full or
	// light node trusts instead of the genesis header.
	TrustedHash string `toml:"trusted_hash"`
	// SyncFrom is where a full or light node with an empty store begins:
	// the genesis header (the default) or the network head. A node that
	// already has a chain resumes from its stored head either way, and a
	// TrustedHash, when set, wins over SyncFrom. A sequencer starts the
	// chain itself: genesis only.
	SyncFrom SyncFrom `toml:"sync_from"`
	// RetainHeaders, when not 0, is how many headers (and, on a full node,
	// blocks) the node keeps: the head and the RetainHeaders-1 below it;
	// older ones are deleted as the head moves, and peers asking for them
	// are answered "not found". 0 keeps everything. A sequencer keeps its
	// whole chain: 0 only.
	RetainHeaders uint64    `toml:"retain_headers"`
	P2P           P2PConfig `toml:"p2p"`
	API           APIConfig `toml:"api"`
	Log           LogConfig `toml:"log"`
}

// APIConfig configures the HTTP API.
type APIConfig struct {
	// Listen is host:port; loopback by default, since the API has no
	// authentication.
	Listen string `toml:"listen"`
}

// LogConfig configures logging.
type LogConfig struct {
	Level  string `toml:"level"`  // debug, info, warn or error
	Format string `toml:"format"` // text or json
}

// Defaults.
const (
	DefaultBlockTime  = time.Second
	DefaultSyncFrom   = SyncFromGenesis
	DefaultAPIListen  = "127.0.0.1:26657"
	DefaultLogLevel   = "info"
	DefaultLogFormat  = "text"
	minBlockTime      = time.Millisecond
	maxBlockTime      = time.Hour
	expectHash        = "64 hex digits (a SHA-256 header hash)"
	expectHostPort    = "host:port, e.g. 127.0.0.1:26657"
	expectLogLevel    = "debug, info, warn or error"
	expectLogFormat   = "text or json"
	expectBlockTime   = "a duration between 1ms and 1h, e.g. 1s or 500ms"
	expectChainIDText = "1 to 50 characters from A-Z a-z 0-9 . _ -"
	expectRetain      = "0 (keep every header) or how many headers to keep, at most 9223372036854775807"
)

// Default returns the configuration of a new node.
func Default(role Role, chainID string) NodeConfig {
	return NodeConfig{
		Role:      role,
		ChainID:   chainID,
		Format:    types.FormatHeadersync,
		BlockTime: Duration(DefaultBlockTime),
		SyncFrom:  DefaultSyncFrom,
		P2P:       P2PConfig{ListenAddress: append([]string(nil), DefaultListenAddress...)},
		API:       APIConfig{Listen: DefaultAPIListen},
		Log:       LogConfig{Level: DefaultLogLevel, Format: DefaultLogFormat},
	}
}

// Validate checks every field and returns the first invalid one as a
// *FieldError naming it.
func (c NodeConfig) Validate() error {
	if _, err := ParseRole(string(c.Role)); err != nil {
		return err
	}
	format, err := types.ParseFormat(string(c.Format))
	if err != nil {
		return fieldErr("format", string(c.Format), expectFormat, nil)
	}
	if c.Role == RoleSequencer && format != types.FormatHeadersync {
		return fieldErr("format", string(c.Format), string(types.FormatHeadersync)+" on a sequencer, which produces the native format only", nil)
	}
	if err := format.ValidateChainID(c.ChainID); err != nil {
		if format != types.FormatHeadersync {
			return fieldErr("chain_id", c.ChainID, "1 to 50 bytes (CometBFT's rule) without '/', spaces or control characters", err)
		}
		return fieldErr("chain_id", c.ChainID, expectChainIDText, err)
	}
	if err := ValidateBlockTime("block_time", time.Duration(c.BlockTime)); err != nil {
		return err
	}
	if _, err := c.TrustedHashBytes(); err != nil {
		return err
	}
	if c.Role == RoleSequencer && c.TrustedHash != "" {
		return fieldErr("trusted_hash", c.TrustedHash, "no trusted hash on a sequencer, which starts the chain itself", nil)
	}
	// A trusted hash together with sync_from = "head" is allowed: the
	// trusted header wins (the node starts there), so an operator can pin
	// a start without editing sync_from back.
	from, err := ParseSyncFrom(string(c.SyncFrom))
	if err != nil {
		return err
	}
	if c.Role == RoleSequencer && from != SyncFromGenesis {
		return fieldErr("sync_from", string(c.SyncFrom), "genesis on a sequencer, which starts the chain itself", nil)
	}
	if c.RetainHeaders > math.MaxInt64 {
		// TOML integers are int64, and the decoder stores a negative one in
		// a uint64 without complaint (-1 as 2^64-1): show what the file
		// said.
		return fieldErr("retain_headers", strconv.FormatInt(int64(c.RetainHeaders), 10), expectRetain, nil)
	}
	if c.Role == RoleSequencer && c.RetainHeaders != 0 {
		return fieldErr("retain_headers", strconv.FormatUint(c.RetainHeaders, 10), "0 on a sequencer: a sequencer keeps its whole chain", nil)
	}
	if err := c.P2P.Validate(); err != nil {
		return err
	}
	if err := validateHostPort("api.listen", c.API.Listen); err != nil {
		return err
	}
	if _, err := ParseLogLevel(c.Log.Level); err != nil {
		return err
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return fieldErr("log.format", c.Log.Format, expectLogFormat, nil)
	}
	return nil
}

// TrustedHashBytes decodes TrustedHash; empty gives nil.
func (c NodeConfig) TrustedHashBytes() (header.Hash, error) {
	if c.TrustedHash == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(strings.TrimSpace(c.TrustedHash))
	if err != nil {
		return nil, fieldErr("trusted_hash", c.TrustedHash, expectHash, err)
	}
	if len(b) != types.HashSize {
		return nil, fieldErr("trusted_hash", c.TrustedHash, expectHash, fmt.Errorf("%d bytes", len(b)))
	}
	return b, nil
}

func validateHostPort(field, v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fieldErr(field, v, expectHostPort, err)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return fieldErr(field, v, expectHostPort, errors.New("host is not an IP address"))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fieldErr(field, v, expectHostPort, errors.New("port is not a number from 0 to 65535"))
	}
	return nil
}

// ValidateBlockTime checks a block interval given as field (a config key
// or a flag such as "--block-time").
func ValidateBlockTime(field string, d time.Duration) error {
	if d < minBlockTime || d > maxBlockTime {
		return fieldErr(field, d.String(), expectBlockTime, nil)
	}
	return nil
}
