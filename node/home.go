package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/atomicfile"
	"github.com/headersync/headersync/p2p"
	"github.com/headersync/headersync/signstate"
	"github.com/headersync/headersync/types"
	"github.com/headersync/headersync/types/rollkit"
)

// ErrHomeExists: init was pointed at a home that already holds files.
var ErrHomeExists = errors.New("home already exists")

// InitOptions describe a new home.
type InitOptions struct {
	Role    config.Role
	ChainID string
	// Genesis is required for full and light nodes (a copy of the
	// sequencer's); a sequencer creates its own naming its new key. Its
	// format is the node's.
	Genesis *types.Genesis
	// GenesisFile is the file Genesis was read from. A genesis of another
	// format than the native one (rollkit's) is copied from it as is.
	GenesisFile string
	// Config, if set, is written instead of config.Default(Role, ChainID).
	Config *config.NodeConfig
}

// InitHome creates a node's home: config.toml, genesis.json, the libp2p
// identity and, for a sequencer, its signing key. It refuses a home that
// exists and is not empty, and leaves nothing behind when it fails. It
// returns the node's peer ID.
func InitHome(home config.Home, o InitOptions) (_ peer.ID, err error) {
	if _, err := config.ParseRole(string(o.Role)); err != nil {
		return "", err
	}
	dir := string(home)
	if entries, statErr := os.ReadDir(dir); statErr == nil && len(entries) > 0 {
		return "", fmt.Errorf("%w: %s is not empty; refusing to overwrite it", ErrHomeExists, dir)
	} else if statErr != nil && !errors.Is(statErr, os.ErrNotExist) {
		return "", fmt.Errorf("init home: %w", statErr)
	}

	genesis := o.Genesis
	chainID := o.ChainID
	switch {
	case o.Role == config.RoleSequencer && genesis != nil:
		return "", errors.New("init home: a sequencer creates its own genesis; do not pass one")
	case o.Role != config.RoleSequencer && genesis == nil:
		return "", fmt.Errorf("init home: a %s node needs the chain's genesis file (the sequencer's genesis.json)", o.Role)
	case genesis != nil:
		if err := genesis.Validate(); err != nil {
			return "", fmt.Errorf("init home: %w", err)
		}
		if chainID == "" {
			chainID = genesis.ChainID
		}
		if chainID != genesis.ChainID {
			return "", fmt.Errorf("init home: chain ID %q does not match the genesis chain_id %q", chainID, genesis.ChainID)
		}
	}
	format := types.FormatHeadersync
	if genesis != nil {
		format = genesis.HeaderFormat()
	}
	if err := format.ValidateChainID(chainID); err != nil {
		return "", fmt.Errorf("init home: chain ID: %w", err)
	}
	cfg := config.Default(o.Role, chainID)
	if genesis != nil {
		cfg.Format = genesis.HeaderFormat()
	}
	if o.Config != nil {
		cfg = *o.Config
	}
	if cfg.Role != o.Role || cfg.ChainID != chainID {
		return "", fmt.Errorf("init home: config is for a %s node of chain %q, not a %s node of %q", cfg.Role, cfg.ChainID, o.Role, chainID)
	}
	if err := cfg.Validate(); err != nil {
		return "", fmt.Errorf("init home: %w", err)
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("init home: %w", err)
	}
	defer func() {
		if err != nil {
			// Leave no partial home: the directory was empty or absent.
			if entries, readErr := os.ReadDir(dir); readErr == nil {
				for _, e := range entries {
					_ = os.RemoveAll(filepath.Join(dir, e.Name()))
				}
			}
		}
	}()

	if o.Role == config.RoleSequencer {
		signer, err := types.GenerateSigner()
		if err != nil {
			return "", fmt.Errorf("init home: %w", err)
		}
		if err := config.SaveSequencerKey(home.SequencerKeyFile(), signer); err != nil {
			return "", fmt.Errorf("init home: %w", err)
		}
		genesis = &types.Genesis{
			ChainID:         chainID,
			InitialHeight:   1,
			GenesisTime:     time.Now().UTC().Truncate(time.Second),
			SequencerPubKey: signer.PublicKey(),
		}
		if err := signstate.Create(home.SigningStateFile(), genesis); err != nil {
			return "", fmt.Errorf("init home: %w", err)
		}
	}
	if err := saveGenesis(home, genesis, o.GenesisFile); err != nil {
		return "", fmt.Errorf("init home: %w", err)
	}
	key, err := p2p.LoadOrCreateIdentity(home.NodeKeyFile())
	if err != nil {
		return "", fmt.Errorf("init home: %w", err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("init home: %w", err)
	}
	if err := cfg.Save(home.ConfigFile()); err != nil {
		return "", fmt.Errorf("init home: %w", err)
	}
	return id, nil
}

// saveGenesis writes the home's genesis.json: a native genesis in this
// project's format, another format's as the file it was read from, byte
// for byte (its own tools read it too), once those bytes are checked to be
// g still.
func saveGenesis(home config.Home, g *types.Genesis, from string) error {
	if g.HeaderFormat() == types.FormatHeadersync {
		return g.Save(home.GenesisFile())
	}
	if from == "" {
		return fmt.Errorf("a %s genesis is copied from its file; none given", g.Format)
	}
	data, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("read genesis: %w", err)
	}
	if again, err := parseGenesis(g.Format, data); err != nil || !sameGenesis(again, g) {
		return fmt.Errorf("genesis %s changed while it was read", from)
	}
	return atomicfile.Write(home.GenesisFile(), data, 0o644)
}

func sameGenesis(a, b *types.Genesis) bool {
	return a.ChainID == b.ChainID && a.InitialHeight == b.InitialHeight && a.GenesisTime.Equal(b.GenesisTime) &&
		a.SequencerPubKey.Equal(b.SequencerPubKey) && a.Format == b.Format
}

// LoadGenesis reads the genesis file of a chain in format f: this
// project's genesis.json, or for a rollkit chain rollkit's own (CometBFT's).
func LoadGenesis(f types.Format, path string) (*types.Genesis, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read genesis: %w", err)
	}
	g, err := parseGenesis(f, data)
	if err != nil {
		return nil, fmt.Errorf("genesis %s: %w", path, err)
	}
	return g, nil
}

func parseGenesis(f types.Format, data []byte) (*types.Genesis, error) {
	switch f {
	case "", types.FormatHeadersync:
		return types.ParseGenesis(data)
	case types.FormatRollkit013:
		return rollkit.ParseGenesis(data)
	default:
		return nil, fmt.Errorf("unknown format %q", f)
	}
}

// FromHome reads a home's genesis and keys into Options for cfg (the home's
// config.toml, with any command-line overrides applied by the caller).
func FromHome(home config.Home, cfg config.NodeConfig) (Options, error) {
	if info, err := os.Stat(string(home)); err != nil {
		return Options{}, fmt.Errorf("home %s: %w (create it with headersync init)", home, err)
	} else if !info.IsDir() {
		return Options{}, fmt.Errorf("home %s is not a directory", home)
	}
	genesis, err := LoadGenesis(cfg.Format, home.GenesisFile())
	if err != nil {
		return Options{}, err
	}
	identity, err := p2p.LoadIdentity(home.NodeKeyFile())
	if err != nil {
		return Options{}, err
	}
	o := Options{Config: cfg, Genesis: genesis, Identity: identity, DataDir: home.DataDir()}
	if cfg.Role == config.RoleSequencer {
		if o.Signer, err = config.LoadSequencerKey(home.SequencerKeyFile()); err != nil {
			return Options{}, err
		}
		o.SigningState = home.SigningStateFile()
	}
	return o, nil
}

// PeerIDOf returns the peer ID of the node living in home.
func PeerIDOf(home config.Home) (peer.ID, error) {
	key, err := p2p.LoadIdentity(home.NodeKeyFile())
	if err != nil {
		return "", err
	}
	return peer.IDFromPrivateKey(key)
}
