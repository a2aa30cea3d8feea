package p2psync

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/celestiaorg/go-header"
	hp2p "github.com/celestiaorg/go-header/p2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/headersync/headersync/p2p"
	"github.com/headersync/headersync/p2psync/peers"
	"github.com/headersync/headersync/types"
)

// Kind names what a service syncs; it fixes the network ID and store prefix.
type Kind string

const (
	// Headers syncs *types.SignedHeader: network ID = chain ID, prefix "headerEx".
	Headers Kind = "header"
	// Blocks syncs *types.Block: network ID = chain ID + "-block", prefix "blockEx".
	Blocks Kind = "block"
)

// NetworkID returns the go-header network ID of kind k on the native chain
// chainID; NamesOf gives every name, in either format.
func (k Kind) NetworkID(chainID string) string {
	if k == Blocks {
		return chainID + "-block"
	}
	return chainID
}

// StorePrefix returns the datastore prefix of kind k.
func (k Kind) StorePrefix() string {
	if k == Blocks {
		return "blockEx"
	}
	return "headerEx"
}

// TopicID returns the gossipsub topic of kind k on chain chainID, e.g.
// "/gm/header-sub/v0.0.1".
func (k Kind) TopicID(chainID string) string { return hp2p.PubsubTopicID(k.NetworkID(chainID)) }

// ProtocolID returns the exchange protocol of kind k on chain chainID, e.g.
// "/gm/header-ex/v0.0.3".
func (k Kind) ProtocolID(chainID string) string { return string(protocolID(k.NetworkID(chainID))) }

// Names are what a service is called on its chain's network.
type Names struct {
	NetworkID string      // go-header's network ID
	Topic     string      // gossipsub topic
	Protocol  protocol.ID // exchange protocol
	// MsgID identifies a gossip message; every node of the network must
	// use the same function, or duplicate suppression and IWANT break.
	MsgID pubsub.MsgIdFunction
}

// NamesOf returns the names of kind k on chain g. A native chain's network
// is the chain ID for headers and chain ID + "-block" for blocks, its
// messages identified by the hash of their data (p2p.MsgID). A rollkit
// v0.13 chain's are chain ID + "-headerSync" and "-blockSync", its messages
// identified by sender and sequence number (gossipsub's default), as
// rollkit's nodes name them.
func (k Kind) NamesOf(g *types.Genesis) Names {
	network, msgID := k.NetworkID(g.ChainID), pubsub.MsgIdFunction(p2p.MsgID)
	if g.HeaderFormat() == types.FormatRollkit013 {
		network, msgID = g.ChainID+"-headerSync", pubsub.DefaultMsgIdFn
		if k == Blocks {
			network = g.ChainID + "-blockSync"
		}
	}
	return Names{
		NetworkID: network,
		Topic:     hp2p.PubsubTopicID(network),
		Protocol:  protocolID(network),
		MsgID:     msgID,
	}
}

// protocolID is go-header's exchange protocol of a network. go-header
// builds it the same way but does not export the function.
func protocolID(network string) protocol.ID {
	return protocol.ID(fmt.Sprintf("/%s/header-ex/v0.0.3", network))
}

// SyncFrom is where a node with an empty store begins its chain.
type SyncFrom string

const (
	// SyncFromGenesis: the genesis header, then every header after it.
	SyncFromGenesis SyncFrom = "genesis"
	// SyncFromHead: the network head, as the peers vote it; the headers
	// below it are filled backwards, down to the retention window.
	SyncFromHead SyncFrom = "head"
)

// ParseSyncFrom reads "genesis" or "head"; "" is genesis.
func ParseSyncFrom(s string) (SyncFrom, error) {
	switch SyncFrom(s) {
	case "", SyncFromGenesis:
		return SyncFromGenesis, nil
	case SyncFromHead:
		return SyncFromHead, nil
	}
	return "", fmt.Errorf("sync from %q; expected %q or %q", s, SyncFromGenesis, SyncFromHead)
}

// Config configures a Service.
type Config struct {
	Kind    Kind
	Genesis *types.Genesis
	// Sequencer marks the node that produces the chain: its service is
	// initialised by its first Publish and runs no syncer.
	Sequencer bool
	// RecoverTo, on a sequencer, is the height its store must hold before
	// it may publish: the height below the last block it signed. A
	// sequencer whose store is behind it (data/ wiped, or restored from an
	// older copy) syncs from its peers like a full node until the caller
	// ends the recovery (FinishRecovery). 0: no recovery.
	RecoverTo uint64
	// TrustedHash, when set on a non-sequencer, is the hash of the first
	// header to trust instead of the genesis header.
	TrustedHash header.Hash
	// SyncFrom is where a non-sequencer with an empty store begins: the
	// genesis header (the default) or the network head. TrustedHash, when
	// set, wins over it.
	SyncFrom SyncFrom
	// Retain, when not 0, is how many headers the service keeps: the head
	// and the Retain-1 below it. Headers that fall out of the window are
	// deleted in the background; a service that began at the network head
	// fills the window backwards. 0 keeps every header. A sequencer keeps
	// its whole chain.
	Retain uint64
	// BlockTime is the sequencer's block interval; the syncer uses it to
	// tell a stale head from a fresh one.
	BlockTime time.Duration
	Logger    *slog.Logger

	// RequestSize is how many headers one chunk of a range holds (at most
	// 512; default 256). A chunk is asked with the header below it, so a
	// request asks for one more, and a chunk of 512 takes two.
	RequestSize uint64
	// InitRetryMin and InitRetryMax bound the backoff between attempts to
	// fetch the first header.
	InitRetryMin, InitRetryMax time.Duration
	// RangeRetryMin and RangeRetryMax bound the backoff between attempts
	// at a range of headers the syncer asked for.
	RangeRetryMin, RangeRetryMax time.Duration
	// RequestTimeout bounds one request to one peer.
	RequestTimeout time.Duration
	// Limits bound what the exchange server serves; zero fields take
	// DefaultLimits.
	Limits Limits
	// Reputation judges the peers' answers. A node shares one between its
	// header and block services, so that a peer banned by one is banned by
	// both; nil: the service makes its own, banning through the network's
	// connection gater (BanThrough).
	Reputation *peers.Reputation
}

// Defaults fills in zero tuning fields.
func (c *Config) Defaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.SyncFrom == "" {
		c.SyncFrom = SyncFromGenesis
	}
	if c.RequestSize == 0 {
		c.RequestSize = 256
	}
	if c.InitRetryMin == 0 {
		c.InitRetryMin = 250 * time.Millisecond
	}
	if c.InitRetryMax == 0 {
		c.InitRetryMax = 5 * time.Second
	}
	if c.RangeRetryMin == 0 {
		c.RangeRetryMin = 50 * time.Millisecond
	}
	if c.RangeRetryMax == 0 {
		c.RangeRetryMax = 5 * time.Second
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 8 * time.Second
	}
	def := DefaultLimits()
	if c.Limits.Concurrent == 0 {
		c.Limits.Concurrent = def.Concurrent
	}
	if c.Limits.PerPeerConcurrent == 0 {
		c.Limits.PerPeerConcurrent = def.PerPeerConcurrent
	}
	if c.Limits.PerPeerRate == 0 {
		c.Limits.PerPeerRate = def.PerPeerRate
	}
	if c.Limits.PerPeerBurst == 0 {
		c.Limits.PerPeerBurst = def.PerPeerBurst
	}
}

// Validate checks c after Defaults.
func (c *Config) Validate() error {
	if c.Kind != Headers && c.Kind != Blocks {
		return fmt.Errorf("p2psync: kind %q; expected %q or %q", c.Kind, Headers, Blocks)
	}
	if c.Genesis == nil {
		return errors.New("p2psync: no genesis")
	}
	if err := c.Genesis.Validate(); err != nil {
		return fmt.Errorf("p2psync: %w", err)
	}
	if c.BlockTime <= 0 {
		return fmt.Errorf("p2psync: block time %s; expected a positive duration", c.BlockTime)
	}
	if c.Sequencer && len(c.TrustedHash) != 0 {
		return errors.New("p2psync: a sequencer starts its own chain and takes no trusted hash")
	}
	if _, err := ParseSyncFrom(string(c.SyncFrom)); err != nil {
		return fmt.Errorf("p2psync: %w", err)
	}
	if c.Sequencer && c.Retain != 0 {
		return fmt.Errorf("p2psync: a sequencer keeps its whole chain; retain %d headers is for other nodes", c.Retain)
	}
	if len(c.TrustedHash) != 0 && len(c.TrustedHash) != types.HashSize {
		return fmt.Errorf("p2psync: trusted hash has %d bytes; expected %d", len(c.TrustedHash), types.HashSize)
	}
	if c.RequestSize > header.MaxRangeRequestSize {
		return fmt.Errorf("p2psync: request size %d; expected at most %d", c.RequestSize, header.MaxRangeRequestSize)
	}
	if l := c.Limits; l.Concurrent < 1 || l.PerPeerConcurrent < 1 || l.PerPeerRate <= 0 || l.PerPeerBurst < 1 {
		return fmt.Errorf("p2psync: limits %+v; expected positive values", l)
	}
	if c.InitRetryMin <= 0 || c.InitRetryMax < c.InitRetryMin {
		return fmt.Errorf("p2psync: init retry %s..%s; expected 0 < min <= max", c.InitRetryMin, c.InitRetryMax)
	}
	if c.RangeRetryMin <= 0 || c.RangeRetryMax < c.RangeRetryMin {
		return fmt.Errorf("p2psync: range retry %s..%s; expected 0 < min <= max", c.RangeRetryMin, c.RangeRetryMax)
	}
	return nil
}

// TopicScores are the gossipsub scoring parameters of chain g's header and
// block topics (go-header's recommendation), for p2p.WithTopicScores.
func TopicScores(g *types.Genesis) map[string]*pubsub.TopicScoreParams {
	h, b := hp2p.GossibSubScore, hp2p.GossibSubScore
	return map[string]*pubsub.TopicScoreParams{
		Headers.NamesOf(g).Topic: &h,
		Blocks.NamesOf(g).Topic:  &b,
	}
}
