// Package chaingen builds valid chains of signed headers and blocks, for
// tests, benchmarks and the devnet. A Generator plays the sequencer: it owns
// the key named in its Genesis and extends the chain one block at a time.
package chaingen

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/headersync/headersync/types"
)

// Generator extends one chain. It is not safe for concurrent use.
type Generator struct {
	Signer  *types.Signer
	Genesis *types.Genesis

	step time.Duration
	next time.Time
	head *types.SignedHeader
}

// Options tune a Generator; zero values take the defaults.
type Options struct {
	// Key signs the chain; a fresh key by default.
	Key ed25519.PrivateKey
	// Start is the time of the first block; default: Step*N before now, for
	// the N given to New, so that the last block is not in the future.
	Start time.Time
	// Step is the time between blocks; default 1ms.
	Step time.Duration
	// InitialHeight of the chain; default 1.
	InitialHeight uint64
}

// New returns a Generator for chain chainID that expects to build about
// expected blocks (used only to place the default start time).
func New(chainID string, expected int, opts Options) (*Generator, error) {
	if opts.Step <= 0 {
		opts.Step = time.Millisecond
	}
	if opts.InitialHeight == 0 {
		opts.InitialHeight = 1
	}
	if opts.Start.IsZero() {
		opts.Start = time.Now().Add(-time.Duration(expected+1) * opts.Step)
	}
	var (
		signer *types.Signer
		err    error
	)
	if opts.Key != nil {
		signer, err = types.NewSigner(opts.Key)
	} else {
		signer, err = types.GenerateSigner()
	}
	if err != nil {
		return nil, fmt.Errorf("chaingen: %w", err)
	}
	g := &types.Genesis{
		ChainID:         chainID,
		InitialHeight:   opts.InitialHeight,
		GenesisTime:     opts.Start.UTC(),
		SequencerPubKey: signer.PublicKey(),
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("chaingen: %w", err)
	}
	return &Generator{Signer: signer, Genesis: g, step: opts.Step, next: opts.Start}, nil
}

// Head returns the last header built, or nil before the first.
func (g *Generator) Head() *types.SignedHeader { return g.head }

// NextBlock signs and returns the next block, carrying txs.
func (g *Generator) NextBlock(txs ...[]byte) (*types.Block, error) {
	data := types.Data{Txs: txs}
	var h types.Header
	if g.head == nil {
		h = types.FirstHeader(g.Genesis, g.next, &data)
	} else {
		h = types.NextHeader(g.head, g.next, &data)
	}
	sh, err := g.Signer.Sign(h)
	if err != nil {
		return nil, fmt.Errorf("chaingen: %w", err)
	}
	g.head = sh
	g.next = g.next.Add(g.step)
	return types.NewBlock(sh, data), nil
}

// NextHeader signs and returns the next header of an empty block.
func (g *Generator) NextHeader() (*types.SignedHeader, error) {
	b, err := g.NextBlock()
	if err != nil {
		return nil, err
	}
	return b.SignedHeader(), nil
}

// Blocks returns the next n blocks, each with one small transaction.
func (g *Generator) Blocks(n int) ([]*types.Block, error) {
	out := make([]*types.Block, 0, n)
	for i := 0; i < n; i++ {
		height := g.Genesis.InitialHeight
		if g.head != nil {
			height = g.head.Height() + 1
		}
		b, err := g.NextBlock([]byte(fmt.Sprintf("tx-%d", height)))
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// Headers returns the next n headers.
func (g *Generator) Headers(n int) ([]*types.SignedHeader, error) {
	out := make([]*types.SignedHeader, 0, n)
	for i := 0; i < n; i++ {
		h, err := g.NextHeader()
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}
