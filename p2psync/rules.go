package p2psync

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/celestiaorg/go-header"

	"github.com/headersync/headersync/types"
	"github.com/headersync/headersync/types/rollkit"
)

// Header is what a Service can sync: a go-header Header that also names the
// key that signed it, so the service can hold it to the genesis key.
type Header[H any] interface {
	header.Header[H]
	Signer() ed25519.PublicKey
}

var (
	// ErrNotSequencerKey: a header was not signed by the genesis sequencer key.
	ErrNotSequencerKey = errors.New("not signed by the genesis sequencer key")
	// ErrWrongChain: a header belongs to another chain.
	ErrWrongChain = errors.New("header of another chain")
	// ErrNotFirstHeader: a header offered as the first is not the one expected.
	ErrNotFirstHeader = errors.New("not the expected first header")
	// ErrNotInitialised: the service has no trusted header yet.
	ErrNotInitialised = errors.New("sync service not initialised")
	// ErrEquivocation: a header signed by the genesis key that is not the
	// stored header at its height.
	ErrEquivocation = errors.New("the sequencer signed another header at this height")
	// ErrRecovering: Publish on a sequencer still syncing its own chain
	// back from its peers.
	ErrRecovering = errors.New("sequencer is recovering its chain from peers")
	// ErrBroadcastFailed: Publish stored the header but could not gossip it;
	// peers still get it from the exchange.
	ErrBroadcastFailed = errors.New("stored, but broadcast failed")
)

// InitPlan is how a service obtains the first header it trusts.
type InitPlan int

const (
	// InitFromStore: the store has a head; sync from it at once.
	InitFromStore InitPlan = iota
	// InitFromPublish: the sequencer's first published header initialises.
	InitFromPublish
	// InitFromTrustedHash: fetch the header with the configured hash.
	InitFromTrustedHash
	// InitFromGenesis: fetch the header at the genesis initial height, or
	// take it from gossip if it arrives first.
	InitFromGenesis
	// InitFromHead: take the network head the peers vote for, or a header
	// of the sequencer's from gossip if one arrives first.
	InitFromHead
)

// PlanInit decides how a service initialises (DESIGN §5), from whether its
// store has a head, whether it is the sequencer's, the trusted hash (which
// wins over from) and where to sync from.
func PlanInit(storeHasHead, sequencer bool, trustedHash header.Hash, from SyncFrom) InitPlan {
	switch {
	case storeHasHead:
		return InitFromStore
	case sequencer:
		return InitFromPublish
	case len(trustedHash) != 0:
		return InitFromTrustedHash
	case from == SyncFromHead:
		return InitFromHead
	default:
		return InitFromGenesis
	}
}

// fetches reports whether the plan fetches its first header from peers
// (or gossip).
func (p InitPlan) fetches() bool {
	return p == InitFromTrustedHash || p == InitFromGenesis || p == InitFromHead
}

// Waiting says what a service following plan p waits for before it is
// initialised, as shown in its state.
func (p InitPlan) Waiting() string {
	switch p {
	case InitFromPublish:
		return "first block"
	case InitFromTrustedHash:
		return "trusted header"
	case InitFromGenesis:
		return "genesis"
	case InitFromHead:
		return "network head"
	default:
		return ""
	}
}

// checkSequencer reports whether h is valid, of the genesis chain and signed
// by the genesis sequencer key: true of every header this chain can have,
// whoever relays it.
func checkSequencer[H Header[H]](g *types.Genesis, h H) error {
	return named(h, ofGenesis(g, h))
}

// ofGenesis is checkSequencer's rule without naming h, for callers that
// name it their own way.
func ofGenesis[H Header[H]](g *types.Genesis, h H) error {
	if err := origin(g, h); err != nil {
		return err
	}
	return h.Validate()
}

// checkOrigin is checkSequencer without Validate: h is of the genesis chain
// and names the genesis key as its signer. It is what a header of a range
// answer must pass on arrival; validateChain then authenticates the answer
// as a whole. The signer is in no hash, so no link can vouch for it: it is
// held to the genesis key here, for every header.
func checkOrigin[H Header[H]](g *types.Genesis, h H) error {
	return named(h, origin(g, h))
}

// named prefixes err with the header it is about, except where err names
// nothing of h's own (a zero header, another chain).
func named[H Header[H]](h H, err error) error {
	if err == nil || h.IsZero() || errors.Is(err, ErrWrongChain) {
		return err
	}
	return fmt.Errorf("header %d %s: %w", h.Height(), hex.EncodeToString(h.Hash()), err)
}

// origin is the chain and signer part of the rule.
func origin[H Header[H]](g *types.Genesis, h H) error {
	if h.IsZero() {
		return header.ErrZeroHeader
	}
	if h.ChainID() != g.ChainID {
		return fmt.Errorf("%w: chain %q, expected %q", ErrWrongChain, h.ChainID(), g.ChainID)
	}
	if !bytes.Equal(h.Signer(), g.SequencerPubKey) {
		return fmt.Errorf("%w: signed by key %x, expected %x", ErrNotSequencerKey, []byte(h.Signer()), []byte(g.SequencerPubKey))
	}
	return nil
}

// validateChain validates hs, consecutive headers of one answer, as
// Validate would each of them, with one signature check (types.ValidateChain,
// DESIGN §8): the highest header's signature, and hash links down from it.
// Header types no format package links are validated one by one.
func validateChain[H Header[H]](hs []H) error {
	switch c := any(hs).(type) {
	case []*types.SignedHeader:
		return types.ValidateChain(c)
	case []*types.Block:
		return types.ValidateBlocks(c)
	case []*rollkit.SignedHeader:
		return rollkit.ValidateChain(c)
	case []*rollkit.Block:
		return rollkit.ValidateBlocks(c)
	}
	for _, h := range hs {
		if err := h.Validate(); err != nil {
			return named(h, err)
		}
	}
	return nil
}

// checkFresh reports whether h's time is at most types.MaxClockDrift ahead
// of the local clock. A header further ahead is not accepted, but whoever
// relays it is not blamed: the sequencer's clock, or ours, may be off.
func checkFresh[H Header[H]](h H) error {
	if now := time.Now(); h.Time().After(now.Add(types.MaxClockDrift)) {
		return fmt.Errorf("header %d %s: %w: %s, now %s", h.Height(), hex.EncodeToString(h.Hash()), header.ErrFromFuture,
			h.Time().UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkFirst reports whether h may be trusted as the first header: signed by
// the sequencer, not from the future, and either the trusted-hash header, when one is configured,
// or the header at the genesis initial height, or when anyHeight (a start
// from the network head), any header.
func checkFirst[H Header[H]](g *types.Genesis, trustedHash header.Hash, anyHeight bool, h H) error {
	if err := checkSequencer(g, h); err != nil {
		return err
	}
	if err := checkFresh(h); err != nil {
		return err
	}
	if len(trustedHash) == 0 && anyHeight {
		return nil
	}
	if len(trustedHash) != 0 {
		if !bytes.Equal(h.Hash(), trustedHash) {
			return fmt.Errorf("%w: hash %s, expected trusted hash %s", ErrNotFirstHeader, hex.EncodeToString(h.Hash()), hex.EncodeToString(trustedHash))
		}
		return nil
	}
	if h.Height() != g.InitialHeight {
		return fmt.Errorf("%w: height %d, expected genesis initial height %d", ErrNotFirstHeader, h.Height(), g.InitialHeight)
	}
	return nil
}
