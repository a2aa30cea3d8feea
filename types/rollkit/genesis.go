package rollkit

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"os"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtypes "github.com/cometbft/cometbft/types"

	"github.com/headersync/headersync/types"
)

// ErrNotRollkitGenesis: a genesis file is not a CometBFT genesis of a
// rollkit chain with one ed25519 sequencer.
var ErrNotRollkitGenesis = errors.New("not a rollkit genesis")

// LoadGenesis reads a rollkit chain's genesis.json, as rollkit writes it
// (CometBFT's GenesisDoc), checked by CometBFT's own rules, and returns
// what headersync needs of it: the chain ID, the initial height, the
// genesis time and the sequencer's key, the genesis's one validator.
func LoadGenesis(path string) (*types.Genesis, error) {
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

// ParseGenesis is LoadGenesis of the file's bytes.
func ParseGenesis(data []byte) (*types.Genesis, error) {
	doc, err := cmtypes.GenesisDocFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: %w", types.ErrInvalidGenesis, ErrNotRollkitGenesis, err)
	}
	if len(doc.Validators) != 1 {
		return nil, fmt.Errorf("%w: %w: %d validators; a rollkit v0.13 chain has one, its sequencer",
			types.ErrInvalidGenesis, ErrNotRollkitGenesis, len(doc.Validators))
	}
	key, ok := doc.Validators[0].PubKey.(cmted25519.PubKey)
	if !ok {
		return nil, fmt.Errorf("%w: %w: the validator's key is %s; expected ed25519",
			types.ErrInvalidGenesis, ErrNotRollkitGenesis, doc.Validators[0].PubKey.Type())
	}
	if doc.InitialHeight < 1 || doc.InitialHeight == math.MaxInt64 {
		return nil, fmt.Errorf("%w: initial_height %d", types.ErrInvalidGenesis, doc.InitialHeight)
	}
	g := &types.Genesis{
		ChainID:         doc.ChainID,
		InitialHeight:   uint64(doc.InitialHeight),
		GenesisTime:     doc.GenesisTime.UTC(),
		SequencerPubKey: ed25519.PublicKey(key),
		Format:          types.FormatRollkit013,
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return g, nil
}
