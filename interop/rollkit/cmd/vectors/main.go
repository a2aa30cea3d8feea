// Command vectors writes deterministic rollkit v0.13.7 test vectors as JSON
// to stdout: a CometBFT genesis document as rollkit writes it, and a 6-header
// chain (with one block per header) built and signed with rollkit's own types
// package, linked as rollkit's sequencer links them (block/manager.go
// publishBlock and state/executor.go CreateBlock).
//
// The output is checked in at types/rollkit/testdata/vectors.json of the
// headersync repository:
//
//	cd interop/rollkit && GONOSUMDB=github.com/rollkit go run ./cmd/vectors > ../../types/rollkit/testdata/vectors.json
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtypes "github.com/cometbft/cometbft/types"
	"github.com/rollkit/rollkit/types"
)

const (
	chainID    = "interop-chain"
	numHeaders = 6
	// sequencerSecret and otherSecret seed the ed25519 keys
	// (ed25519.GenPrivKeyFromSecret: the seed is sha256 of the secret).
	sequencerSecret = "headersync interop sequencer key"
	otherSecret     = "headersync interop other key"
)

// genesisTime is the genesis time; header h is stamped genesisTime + h seconds
// (plus h milliseconds, so that the nanoseconds field is not all zeros).
var genesisTime = time.Date(2024, time.January, 2, 3, 4, 5, 0, time.UTC)

// Vectors is the document written to stdout.
type Vectors struct {
	Comment string `json:"comment"`
	// RollkitVersion is the rollkit module version that built the vectors.
	RollkitVersion string `json:"rollkit_version"`
	ChainID        string `json:"chain_id"`
	InitialHeight  int64  `json:"initial_height"`
	// Genesis is the genesis document exactly as GenesisDoc.SaveAs writes it.
	Genesis json.RawMessage `json:"genesis"`
	// GenesisFile is the same document as a string, byte for byte the file
	// SaveAs writes.
	GenesisFile string `json:"genesis_file"`
	// SequencerPubKey is the raw 32-byte ed25519 public key of the sequencer.
	SequencerPubKey string `json:"sequencer_pubkey"`
	// SequencerAddress is the CometBFT address of that key (sha256 prefix, 20 bytes).
	SequencerAddress string `json:"sequencer_address"`
	// OtherPubKey is the key that signs the bad variant.
	OtherPubKey string   `json:"other_pubkey"`
	Headers     []Header `json:"headers"`
	// Bad is header 6 of the chain with its signature made by OtherPubKey's
	// key; every other byte (and so the hash) is that of headers[5].
	Bad BadHeader `json:"bad"`
}

// Header is one header of the chain, field by field, and its encodings.
type Header struct {
	Height          uint64 `json:"height"`
	Time            uint64 `json:"time"` // unix nanoseconds
	ChainID         string `json:"chain_id"`
	VersionBlock    uint64 `json:"version_block"`
	VersionApp      uint64 `json:"version_app"`
	LastHeaderHash  string `json:"last_header_hash"`
	LastCommitHash  string `json:"last_commit_hash"`
	DataHash        string `json:"data_hash"`
	ConsensusHash   string `json:"consensus_hash"`
	AppHash         string `json:"app_hash"`
	LastResultsHash string `json:"last_results_hash"`
	ValidatorHash   string `json:"validator_hash"`
	ProposerAddress string `json:"proposer_address"`

	// HeaderBin is Header.MarshalBinary (the header alone, no signature).
	HeaderBin string `json:"header_bin"`
	// SignedHeaderBin is SignedHeader.MarshalBinary: what the header-sync
	// gossip topic and exchange carry.
	SignedHeaderBin string `json:"signed_header_bin"`
	// BlockBin is Block.MarshalBinary: what the block-sync topic and exchange carry.
	BlockBin string `json:"block_bin"`
	// Txs are the block's transactions.
	Txs []string `json:"txs"`
	// Hash is Header.Hash (the CometBFT header hash).
	Hash string `json:"hash"`
	// Signature is the sequencer's ed25519 signature over VoteSignBytes.
	Signature string `json:"signature"`
	// VoteSignBytes is Header.MakeCometBFTVote.
	VoteSignBytes string `json:"vote_sign_bytes"`
	// ValidatorSetHash is SignedHeader.Validators.Hash().
	ValidatorSetHash string `json:"validator_set_hash"`
	// CommitHashForNext is Signature.GetCommitHash(next header, proposer):
	// the next header's LastCommitHash. Empty for the last header.
	CommitHashForNext string `json:"commit_hash_for_next"`
}

// BadHeader is a header whose signature is not the sequencer's.
type BadHeader struct {
	Height          uint64 `json:"height"`
	SignedHeaderBin string `json:"signed_header_bin"`
	BlockBin        string `json:"block_bin"`
	Hash            string `json:"hash"`
	Signature       string `json:"signature"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "vectors:", err)
		os.Exit(1)
	}
}

func run() error {
	v, err := build()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode vectors: %w", err)
	}
	return nil
}

func build() (*Vectors, error) {
	seqKey := ed25519.GenPrivKeyFromSecret([]byte(sequencerSecret))
	otherKey := ed25519.GenPrivKeyFromSecret([]byte(otherSecret))
	pub := seqKey.PubKey()

	genDoc := &cmtypes.GenesisDoc{
		ChainID:       chainID,
		InitialHeight: 1,
		GenesisTime:   genesisTime,
		Validators: []cmtypes.GenesisValidator{{
			Address: pub.Address(),
			PubKey:  pub,
			Power:   1,
			Name:    "sequencer",
		}},
	}
	genFile, err := genesisAsSaved(genDoc)
	if err != nil {
		return nil, err
	}

	blocks, err := buildChain(genDoc, seqKey, numHeaders)
	if err != nil {
		return nil, err
	}

	v := &Vectors{
		Comment: "rollkit v0.13.7 interop vectors, written by interop/rollkit/cmd/vectors with rollkit's types package; " +
			"bytes are lower-case hex, times unix nanoseconds; header h has LastHeaderHash = hash(h-1) and " +
			"LastCommitHash = commit_hash_for_next of h-1 (height 1: empty LastHeaderHash, commit hash of an empty signature)",
		RollkitVersion:   "v0.13.7",
		ChainID:          chainID,
		InitialHeight:    genDoc.InitialHeight,
		Genesis:          json.RawMessage(genFile),
		GenesisFile:      string(genFile),
		SequencerPubKey:  hex.EncodeToString(pub.Bytes()),
		SequencerAddress: hex.EncodeToString(pub.Address()),
		OtherPubKey:      hex.EncodeToString(otherKey.PubKey().Bytes()),
	}
	for i, b := range blocks {
		var next *types.Block
		if i+1 < len(blocks) {
			next = blocks[i+1]
		}
		h, err := describe(b, next)
		if err != nil {
			return nil, err
		}
		v.Headers = append(v.Headers, h)
	}

	bad, err := resign(blocks[len(blocks)-1], otherKey)
	if err != nil {
		return nil, err
	}
	badSH, err := bad.SignedHeader.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("marshal bad signed header: %w", err)
	}
	badBlock, err := bad.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("marshal bad block: %w", err)
	}
	v.Bad = BadHeader{
		Height:          bad.Height(),
		SignedHeaderBin: hex.EncodeToString(badSH),
		BlockBin:        hex.EncodeToString(badBlock),
		Hash:            hex.EncodeToString(bad.Hash()),
		Signature:       hex.EncodeToString(bad.SignedHeader.Signature),
	}
	if err := selfCheck(blocks, bad); err != nil {
		return nil, err
	}
	return v, nil
}

// genesisAsSaved returns the bytes GenesisDoc.SaveAs writes for genDoc.
func genesisAsSaved(genDoc *cmtypes.GenesisDoc) ([]byte, error) {
	dir, err := os.MkdirTemp("", "vectors-genesis-")
	if err != nil {
		return nil, fmt.Errorf("temp dir for genesis: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "genesis.json")
	if err := genDoc.SaveAs(path); err != nil {
		return nil, fmt.Errorf("save genesis: %w", err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read saved genesis: %w", err)
	}
	return raw, nil
}

// buildChain builds n blocks (heights InitialHeight..) the way rollkit's
// sequencer does: the state from the genesis document gives version, app hash,
// last results hash and validator set; each header links to the previous one
// by hash and by the commit hash of the previous signature.
func buildChain(genDoc *cmtypes.GenesisDoc, key ed25519.PrivKey, n int) ([]*types.Block, error) {
	gcopy := *genDoc // NewFromGenesisDoc completes (mutates) the document
	state, err := types.NewFromGenesisDoc(&gcopy)
	if err != nil {
		return nil, fmt.Errorf("state from genesis: %w", err)
	}
	proposer := state.Validators.Proposer.Address.Bytes()

	var (
		lastSig  = types.Signature{}
		lastHash types.Hash
		out      []*types.Block
	)
	for i := 0; i < n; i++ {
		height := uint64(genDoc.InitialHeight) + uint64(i)
		t := genesisTime.Add(time.Duration(height)*time.Second + time.Duration(height)*time.Millisecond)
		var txs types.Txs
		for j := 0; j < int(height%3)+1; j++ {
			txs = append(txs, types.Tx(fmt.Sprintf("interop-tx-%d-%d", height, j)))
		}
		b := &types.Block{
			SignedHeader: types.SignedHeader{
				Header: types.Header{
					Version: types.Version{
						Block: state.Version.Consensus.Block,
						App:   state.Version.Consensus.App,
					},
					BaseHeader: types.BaseHeader{
						ChainID: genDoc.ChainID,
						Height:  height,
						Time:    uint64(t.UnixNano()),
					},
					DataHash:        make(types.Hash, 32),
					ConsensusHash:   make(types.Hash, 32),
					AppHash:         fixedBytes("app", height),
					LastResultsHash: fixedBytes("results", height),
					ProposerAddress: proposer,
				},
			},
			Data: types.Data{Txs: txs},
		}
		b.SignedHeader.LastCommitHash = lastSig.GetCommitHash(&b.SignedHeader.Header, proposer)
		b.SignedHeader.LastHeaderHash = lastHash
		dataHash, err := b.Data.Hash()
		if err != nil {
			return nil, fmt.Errorf("data hash at %d: %w", height, err)
		}
		b.SignedHeader.DataHash = dataHash
		b.SignedHeader.Validators = state.Validators
		b.SignedHeader.ValidatorHash = state.Validators.Hash()
		sig, err := types.GetSignature(b.SignedHeader.Header, key)
		if err != nil {
			return nil, fmt.Errorf("sign %d: %w", height, err)
		}
		b.SignedHeader.Signature = *sig
		out = append(out, b)
		lastSig = *sig
		lastHash = b.Hash()
	}
	return out, nil
}

// fixedBytes returns 32 deterministic bytes for a label and height.
func fixedBytes(label string, height uint64) []byte {
	var b [32]byte
	copy(b[:], fmt.Sprintf("%s-%d", label, height))
	return b[:]
}

// resign returns a copy of b whose signature is made by key.
func resign(b *types.Block, key ed25519.PrivKey) (*types.Block, error) {
	c := *b
	sig, err := types.GetSignature(c.SignedHeader.Header, key)
	if err != nil {
		return nil, fmt.Errorf("re-sign %d: %w", b.Height(), err)
	}
	c.SignedHeader.Signature = *sig
	return &c, nil
}

func describe(b, next *types.Block) (Header, error) {
	sh := &b.SignedHeader
	hdrBin, err := sh.Header.MarshalBinary()
	if err != nil {
		return Header{}, fmt.Errorf("marshal header %d: %w", b.Height(), err)
	}
	shBin, err := sh.MarshalBinary()
	if err != nil {
		return Header{}, fmt.Errorf("marshal signed header %d: %w", b.Height(), err)
	}
	blockBin, err := b.MarshalBinary()
	if err != nil {
		return Header{}, fmt.Errorf("marshal block %d: %w", b.Height(), err)
	}
	h := Header{
		Height:           sh.Height(),
		Time:             sh.BaseHeader.Time,
		ChainID:          sh.ChainID(),
		VersionBlock:     sh.Version.Block,
		VersionApp:       sh.Version.App,
		LastHeaderHash:   hex.EncodeToString(sh.LastHeaderHash),
		LastCommitHash:   hex.EncodeToString(sh.LastCommitHash),
		DataHash:         hex.EncodeToString(sh.DataHash),
		ConsensusHash:    hex.EncodeToString(sh.ConsensusHash),
		AppHash:          hex.EncodeToString(sh.AppHash),
		LastResultsHash:  hex.EncodeToString(sh.LastResultsHash),
		ValidatorHash:    hex.EncodeToString(sh.ValidatorHash),
		ProposerAddress:  hex.EncodeToString(sh.ProposerAddress),
		HeaderBin:        hex.EncodeToString(hdrBin),
		SignedHeaderBin:  hex.EncodeToString(shBin),
		BlockBin:         hex.EncodeToString(blockBin),
		Txs:              []string{},
		Hash:             hex.EncodeToString(sh.Hash()),
		Signature:        hex.EncodeToString(sh.Signature),
		VoteSignBytes:    hex.EncodeToString(sh.Header.MakeCometBFTVote()),
		ValidatorSetHash: hex.EncodeToString(sh.Validators.Hash()),
	}
	for _, tx := range b.Data.Txs {
		h.Txs = append(h.Txs, hex.EncodeToString(tx))
	}
	if next != nil {
		h.CommitHashForNext = hex.EncodeToString(sh.Signature.GetCommitHash(&next.SignedHeader.Header, sh.ProposerAddress))
	}
	return h, nil
}

// selfCheck runs rollkit's own checks over the chain: each block passes
// ValidateBasic (signature included), each header verifies its successor
// (the check rollkit's p2p syncer runs), each survives a binary round trip,
// and the bad header fails only the signature check.
func selfCheck(blocks []*types.Block, bad *types.Block) error {
	for i, b := range blocks {
		if err := b.ValidateBasic(); err != nil {
			return fmt.Errorf("block %d: ValidateBasic: %w", b.Height(), err)
		}
		bin, err := b.SignedHeader.MarshalBinary()
		if err != nil {
			return fmt.Errorf("marshal %d: %w", b.Height(), err)
		}
		var back types.SignedHeader
		if err := back.UnmarshalBinary(bin); err != nil {
			return fmt.Errorf("unmarshal %d: %w", b.Height(), err)
		}
		if !bytes.Equal(back.Hash(), b.Hash()) {
			return fmt.Errorf("round trip of %d changed the hash", b.Height())
		}
		if i > 0 {
			if err := blocks[i-1].SignedHeader.Verify(&b.SignedHeader); err != nil {
				return fmt.Errorf("verify %d -> %d: %w", blocks[i-1].Height(), b.Height(), err)
			}
		}
	}
	if err := bad.SignedHeader.ValidateBasic(); err == nil {
		return fmt.Errorf("bad header %d passes ValidateBasic", bad.Height())
	}
	if err := bad.SignedHeader.Validate(); err != nil {
		return fmt.Errorf("bad header %d fails rollkit's p2p Validate: %w", bad.Height(), err)
	}
	prev := blocks[len(blocks)-2]
	if err := prev.SignedHeader.Verify(&bad.SignedHeader); err != nil {
		return fmt.Errorf("bad header %d fails rollkit's p2p Verify: %w", bad.Height(), err)
	}
	return nil
}
