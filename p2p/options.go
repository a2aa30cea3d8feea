package p2p

import (
	"maps"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
)

// Option configures a Client.
type Option func(*options)

type options struct {
	topicScores map[string]*pubsub.TopicScoreParams
	maxBans     int
	banTTL      time.Duration
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
