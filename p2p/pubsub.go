package p2p

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/headersync/headersync/types"
)

// maxMessageSize bounds a gossip message: the largest block plus room for
// gossipsub's own framing. It is just above gossipsub's 1 MiB default.
const maxMessageSize = types.MaxBlockSize + 64<<10

// MsgID identifies a gossip message by the SHA-256 of its payload, so the
// same header published by two peers (or twice) is delivered once. Every
// node of a network must use the same function; go-header's Subscriber takes
// it too.
func MsgID(msg *pubsubpb.Message) string {
	sum := sha256.Sum256(msg.GetData())
	return string(sum[:])
}

// MsgID is what go-header's Subscriber and gossipsub take.
var _ pubsub.MsgIdFunction = MsgID

// gossipParams are gossipsub's defaults with a mesh of 4 peers (3 to 8)
// instead of 6 (5 to 12). A node receives each message from up to its mesh
// degree of peers and forwards it to as many, decoding every copy and
// validating the first: for a header of 250 bytes every block time, the
// copies, not the header, are the cost. In the 100- and 200-node
// benchmarks the smaller mesh took a quarter to a third less CPU, and at
// 200 nodes cut the 99th-percentile delay from 104-530 ms to 32-187 ms
// (docs/performance.md); a header a mesh peer
// fails to forward still comes by IHAVE/IWANT within a heartbeat, and by
// the exchange after that. Dout, the outbound peers a mesh keeps, must be
// below D/2: 1.
func gossipParams() pubsub.GossipSubParams {
	p := pubsub.DefaultGossipSubParams()
	p.D, p.Dlo, p.Dhi = 4, 3, 8
	p.Dlazy = 4
	p.Dscore = 3
	p.Dout = 1
	return p
}

// newPubSub starts the gossipsub router that all sync services of the node
// share. It runs until ctx is done. Messages must be signed (the default
// policy); peer exchange helps a node pruned from a mesh find other peers.
func newPubSub(ctx context.Context, h host.Host, topicScores map[string]*pubsub.TopicScoreParams, sc *scores) (*pubsub.PubSub, error) {
	opts := []pubsub.Option{
		pubsub.WithMessageIdFn(MsgID),
		pubsub.WithMaxMessageSize(maxMessageSize),
		pubsub.WithPeerExchange(true),
		pubsub.WithGossipSubParams(gossipParams()),
	}
	if len(topicScores) > 0 {
		opts = append(opts,
			pubsub.WithPeerScore(peerScoreParams(topicScores), peerScoreThresholds()),
			pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(sc.update), time.Second))
	}
	ps, err := pubsub.NewGossipSub(ctx, h, opts...)
	if err != nil {
		return nil, fmt.Errorf("start gossipsub: %w", err)
	}
	return ps, nil
}
