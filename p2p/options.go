package p2p

import (
	"maps"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Option configures a Client.
type Option func(*options)

type options struct {
	topicScores map[string]*pubsub.TopicScoreParams
	maxBans     int
	banTTL      time.Duration
	discovery   *Discovery
}

// Discovery names the DHT a node joins and the key under which the nodes
// of its chain advertise themselves and look each other up.
type Discovery struct {
	// ProtocolPrefix is the DHT's protocol prefix. kad-dht holds the
	// public DHT's prefix, "/ipfs", to that DHT's parameters (buckets of
	// 20), which the client then uses.
	ProtocolPrefix protocol.ID
	// Namespace is the rendezvous key.
	Namespace string
}

// ChainDiscovery is the default: a DHT private to the chain
// (/headersync/<chain>/kad/1.0.0), which nodes of other chains and of the
// public IPFS DHT do not speak, and the key headersync/<chain>.
func ChainDiscovery(chainID string) Discovery {
	return Discovery{ProtocolPrefix: protocol.ID("/headersync/" + chainID), Namespace: "headersync/" + chainID}
}

// WithDiscovery makes the client join another DHT and rendezvous key than
// ChainDiscovery's: those of another implementation's nodes, so that they
// and this client find each other (a rollkit network's, for one).
func WithDiscovery(d Discovery) Option {
	return func(o *options) { o.discovery = &d }
}

// WithTopicScores turns on gossipsub peer scoring with these parameters for
// the given topics. A peer whose messages the topic validators reject loses
// score with each one; below GraylistThreshold everything it sends is
// ignored, below GossipThreshold it is no longer gossiped to.
func WithTopicScores(scores map[string]*pubsub.TopicScoreParams) Option {
	return func(o *options) { o.topicScores = maps.Clone(scores) }
}

// WithBanLimits bounds the runtime bans (Ban, and go-header's through
// ConnectionGater): at most max are kept, the oldest lifted first, and each
// is lifted ttl after it was made. The defaults are 4096 and an hour.
func WithBanLimits(max int, ttl time.Duration) Option {
	return func(o *options) {
		if max > 0 {
			o.maxBans = max
		}
		if ttl > 0 {
			o.banTTL = ttl
		}
	}
}
