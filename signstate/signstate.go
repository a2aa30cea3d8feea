// Package signstate keeps the sequencer's signing state: the last block it
// signed, in a small file beside its key. It is the sequencer's protection
// against signing two different blocks at one height, as a validator's
// double-sign protection is: the state is written and synced before a
// signature leaves the Guard, and the Guard refuses any height at or below
// it unless the header is byte-identical to the one it signed.
//
// The file lives in the node's home, not in data/: a wiped or restored
// data/ must not take the sequencer's memory of what it signed with it. The
// key and the state are backed up, and restored, together.
package signstate

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/headersync/headersync/internal/atomicfile"
	"github.com/headersync/headersync/types"
)

// Errors callers test.
var (
	// ErrNoState: the file does not exist (a home from before signing
	// state, or a new sequencer not initialised with one).
	ErrNoState = errors.New("no signing state")
	// ErrDoubleSign: signing would give a height a second, different
	// header.
	ErrDoubleSign = errors.New("refusing to sign a height twice")
	// ErrInvalidState: the file is unreadable, or does not belong to this
	// chain and key.
	ErrInvalidState = errors.New("invalid signing state")
)

// fileVersion is the format of the state file.
const fileVersion = 1

// file is the state file's JSON: height and hash for the operator to read,
// and the whole block, signature included, to publish again after a crash.
type file struct {
	Version int    `json:"version"`
	ChainID string `json:"chain_id"`
	// Height and Hash describe the last block signed; 0 and empty before
	// the first.
	Height uint64 `json:"height"`
	Hash   string `json:"hash,omitempty"`
	// Block is the encoded last block (JSON base64).
	Block []byte `json:"block,omitempty"`
}

// Guard signs blocks for one chain and key, recording each before it
// returns it.
type Guard struct {
	path    string
	signer  *types.Signer
	genesis *types.Genesis

	mu   sync.Mutex
	last *types.Block // nil before the first block
}

// Create writes the state of a sequencer that has signed nothing, for a new
// home. It refuses to overwrite an existing state.
func Create(path string, g *types.Genesis) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("create signing state: %s exists; refusing to overwrite it", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("create signing state: %w", err)
	}
	return write(path, g, nil)
}

// Load reads the state at path for a sequencer signing with signer on the
// genesis chain. A missing file is ErrNoState; a file that does not decode,
// or holds a block of another chain or key, is ErrInvalidState.
func Load(path string, signer *types.Signer, g *types.Genesis) (*Guard, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNoState, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read signing state: %w", err)
	}
	if !bytes.Equal(signer.PublicKey(), g.SequencerPubKey) {
		return nil, fmt.Errorf("signing state: the key %x is not the genesis sequencer key %x", []byte(signer.PublicKey()), []byte(g.SequencerPubKey))
	}
	last, err := decode(raw, g)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidState, path, err)
	}
	return &Guard{path: path, signer: signer, genesis: g, last: last}, nil
}

// Migrate creates the state of a home from before signing state, from the
// last block its store holds (nil if none), and returns its Guard.
func Migrate(path string, signer *types.Signer, g *types.Genesis, head *types.Block) (*Guard, error) {
	if head != nil {
		if err := checkBlock(head, g); err != nil {
			return nil, fmt.Errorf("migrate signing state from stored block %d: %w", head.Height(), err)
		}
	}
	if err := Create(path, g); err != nil {
		return nil, err
	}
	guard, err := Load(path, signer, g)
	if err != nil {
		return nil, err
	}
	if head != nil {
		if err := guard.Advance(head); err != nil {
			return nil, err
		}
	}
	return guard, nil
}

// Last returns the last block signed, nil before the first.
func (s *Guard) Last() *types.Block {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Height returns the height of the last block signed, 0 before the first.
func (s *Guard) Height() uint64 {
	if last := s.Last(); last != nil {
		return last.Height()
	}
	return 0
}

// SignBlock signs h and returns the block of h and data, once the state
// records it on disk. h must be the next height: the genesis initial height
// first, then one above the last block signed. A header at the last height
// is signed only if it is byte-identical to the one already signed, and
// then that very block is returned; any other height at or below it is
// ErrDoubleSign.
func (s *Guard) SignBlock(h types.Header, data types.Data) (*types.Block, error) {
	if len(h.ProposerAddress) == 0 {
		h.ProposerAddress = s.signer.Address()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.genesis.InitialHeight
	if s.last != nil {
		next = s.last.Height() + 1
		if h.Height == s.last.Height() && bytes.Equal(h.Hash(), s.last.Hash()) {
			return s.last, nil
		}
	}
	switch {
	case h.Height < next:
		return nil, fmt.Errorf("%w: header %d; this sequencer already signed up to %d (state %s)", ErrDoubleSign, h.Height, next-1, s.path)
	case h.Height > next:
		return nil, fmt.Errorf("sign header %d: the next height to sign is %d", h.Height, next)
	}
	sh, err := s.signer.Sign(h)
	if err != nil {
		return nil, err
	}
	b := types.NewBlock(sh, data)
	if err := write(s.path, s.genesis, b); err != nil {
		return nil, fmt.Errorf("sign block %d: record signing state: %w", h.Height, err)
	}
	s.last = b
	return b, nil
}

// Advance records b, a block this sequencer signed that its stores hold
// above the state: the state file was restored from an older backup than
// data/. b must be signed by the genesis key and above the last block.
func (s *Guard) Advance(b *types.Block) error {
	if err := checkBlock(b, s.genesis); err != nil {
		return fmt.Errorf("advance signing state to block %d: %w", b.Height(), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last != nil && b.Height() <= s.last.Height() {
		return fmt.Errorf("advance signing state to block %d: it is at %d already", b.Height(), s.last.Height())
	}
	if err := write(s.path, s.genesis, b); err != nil {
		return fmt.Errorf("advance signing state to block %d: %w", b.Height(), err)
	}
	s.last = b
	return nil
}

// checkBlock requires b to be a valid block of the genesis chain, signed by
// the genesis key.
func checkBlock(b *types.Block, g *types.Genesis) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if b.ChainID() != g.ChainID {
		return fmt.Errorf("block of chain %q, not %q", b.ChainID(), g.ChainID)
	}
	if !bytes.Equal(b.Signer(), g.SequencerPubKey) {
		return fmt.Errorf("block signed by %x, not the genesis sequencer key %x", []byte(b.Signer()), []byte(g.SequencerPubKey))
	}
	if b.Height() < g.InitialHeight {
		return fmt.Errorf("block %d is below the initial height %d", b.Height(), g.InitialHeight)
	}
	return nil
}

// write replaces the state file with b (nil: nothing signed), synced.
func write(path string, g *types.Genesis, b *types.Block) error {
	f := file{Version: fileVersion, ChainID: g.ChainID}
	if b != nil {
		enc, err := b.MarshalBinary()
		if err != nil {
			return fmt.Errorf("encode block %d: %w", b.Height(), err)
		}
		f.Height, f.Hash, f.Block = b.Height(), hex.EncodeToString(b.Hash()), enc
	}
	raw, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode signing state: %w", err)
	}
	return atomicfile.Write(path, append(raw, '\n'), 0o600)
}

// decode parses a state file and checks it against the genesis.
func decode(raw []byte, g *types.Genesis) (*types.Block, error) {
	var f file
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	switch {
	case f.Version != fileVersion:
		return nil, fmt.Errorf("version %d; this node reads version %d", f.Version, fileVersion)
	case f.ChainID != g.ChainID:
		return nil, fmt.Errorf("chain %q, not the genesis chain %q", f.ChainID, g.ChainID)
	case f.Height == 0 && (len(f.Block) != 0 || f.Hash != ""):
		return nil, errors.New("height 0 with a block")
	case f.Height == 0:
		return nil, nil
	}
	var b types.Block
	if err := b.UnmarshalBinary(f.Block); err != nil {
		return nil, fmt.Errorf("block: %w", err)
	}
	if err := checkBlock(&b, g); err != nil {
		return nil, fmt.Errorf("block: %w", err)
	}
	if b.Height() != f.Height || !strings.EqualFold(hex.EncodeToString(b.Hash()), f.Hash) {
		return nil, fmt.Errorf("height %d and hash %s do not describe the block it holds (%d, %s)", f.Height, f.Hash, b.Height(), hex.EncodeToString(b.Hash()))
	}
	return &b, nil
}
