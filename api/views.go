package api

import (
	"bytes"
	"crypto/ed25519"
	"time"

	"github.com/celestiaorg/go-header"

	"github.com/headersync/headersync/types"
)

// HexBytes is types.HexBytes: lower-case hex in JSON, either case read.
type HexBytes = types.HexBytes

// VersionJSON is a header's version in JSON.
type VersionJSON struct {
	Block uint64 `json:"block"`
	App   uint64 `json:"app"`
}

// HeaderJSON is a signed header in JSON: GET /headers/... replies with it.
// Hashes are HexBytes (lower-case hex, "" when empty); the time is
// RFC 3339 with nanoseconds, in UTC.
type HeaderJSON struct {
	Height          uint64      `json:"height"`
	Hash            HexBytes    `json:"hash"`
	Time            time.Time   `json:"time"`
	ChainID         string      `json:"chain_id"`
	Version         VersionJSON `json:"version"`
	LastHeaderHash  HexBytes    `json:"last_header_hash"`
	LastCommitHash  HexBytes    `json:"last_commit_hash"`
	DataHash        HexBytes    `json:"data_hash"`
	ConsensusHash   HexBytes    `json:"consensus_hash"`
	AppHash         HexBytes    `json:"app_hash"`
	LastResultsHash HexBytes    `json:"last_results_hash"`
	ValidatorHash   HexBytes    `json:"validator_hash"`
	ProposerAddress HexBytes    `json:"proposer_address"`
	Signature       HexBytes    `json:"signature"`
	Signer          HexBytes    `json:"signer"`
}

// SignedHeader is a signed header of any format, as its JSON view reads
// it: *types.SignedHeader and *rollkit.SignedHeader are.
type SignedHeader interface {
	Header() types.Header
	Hash() header.Hash
	Signature() []byte
	Signer() ed25519.PublicKey
}

// NewHeaderJSON returns the JSON view of sh.
func NewHeaderJSON(sh SignedHeader) HeaderJSON {
	h := sh.Header() // a copy, so the view shares no memory with the store
	return HeaderJSON{
		Height:          h.Height,
		Hash:            bytes.Clone(sh.Hash()),
		Time:            h.Time.UTC(),
		ChainID:         h.ChainID,
		Version:         VersionJSON{Block: h.Version.Block, App: h.Version.App},
		LastHeaderHash:  HexBytes(h.LastHeaderHash),
		LastCommitHash:  HexBytes(h.LastCommitHash),
		DataHash:        HexBytes(h.DataHash),
		ConsensusHash:   HexBytes(h.ConsensusHash),
		AppHash:         HexBytes(h.AppHash),
		LastResultsHash: HexBytes(h.LastResultsHash),
		ValidatorHash:   HexBytes(h.ValidatorHash),
		ProposerAddress: h.ProposerAddress,
		Signature:       bytes.Clone(sh.Signature()),
		Signer:          bytes.Clone(sh.Signer()),
	}
}

// BlockJSON is a block in JSON: GET /blocks/{height} replies with it. Txs
// are base64 (encoding/json's []byte form) and never null.
type BlockJSON struct {
	Header HeaderJSON `json:"header"`
	NumTxs int        `json:"num_txs"`
	Txs    [][]byte   `json:"txs"`
}

// NewBlockJSON returns the JSON view of a block: its signed header and its
// data.
func NewBlockJSON(sh SignedHeader, data types.Data) BlockJSON {
	txs := data.Txs
	if txs == nil {
		txs = [][]byte{}
	}
	return BlockJSON{Header: NewHeaderJSON(sh), NumTxs: len(txs), Txs: txs}
}
