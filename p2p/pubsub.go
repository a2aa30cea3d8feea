package p2p

import (
	"context"
	"crypto/sha256"
	"fmt"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
)

// maxMessageSize bounds a gossip message: a 4 MiB block plus room for its
// header, signature and protobuf framing.
const maxMessageSize = 4<<20 + 64<<10

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

// newPubSub starts the gossipsub router that all sync services of the node
// share. It runs until ctx is done. Messages must be signed (the default
// policy); peer exchange helps a node pruned from a mesh find other peers.
func newPubSub(ctx context.Context, h host.Host) (*pubsub.PubSub, error) {
	ps, err := pubsub.NewGossipSub(ctx, h,
		pubsub.WithMessageIdFn(MsgID),
		pubsub.WithMaxMessageSize(maxMessageSize),
		pubsub.WithPeerExchange(true),
	)
	if err != nil {
		return nil, fmt.Errorf("start gossipsub: %w", err)
	}
	return ps, nil
}
