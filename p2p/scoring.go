package p2p

import (
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Score thresholds. With go-header's recommended topic parameters one
// rejected message costs 100 and n of them 100·n² (decaying over an hour),
// so a peer is ignored after five.
const (
	GossipThreshold    = -500
	PublishThreshold   = -1000
	GraylistThreshold  = -2500
	acceptPXThreshold  = 10
	opportunisticGraft = 5
)

// peerScoreParams are the peer-level scoring parameters. IP colocation is
// not penalised: devnets and tests run every node on 127.0.0.1.
func peerScoreParams(topics map[string]*pubsub.TopicScoreParams) *pubsub.PeerScoreParams {
	return &pubsub.PeerScoreParams{
		Topics:                    topics,
		AppSpecificScore:          func(peer.ID) float64 { return 0 },
		BehaviourPenaltyWeight:    -10,
		BehaviourPenaltyThreshold: 6,
		BehaviourPenaltyDecay:     pubsub.ScoreParameterDecay(10 * time.Minute),
		DecayInterval:             time.Second,
		DecayToZero:               0.01,
		RetainScore:               10 * time.Minute,
	}
}

func peerScoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:             GossipThreshold,
		PublishThreshold:            PublishThreshold,
		GraylistThreshold:           GraylistThreshold,
		AcceptPXThreshold:           acceptPXThreshold,
		OpportunisticGraftThreshold: opportunisticGraft,
	}
}

// scores keeps the latest gossipsub score of every peer.
type scores struct {
	mu sync.RWMutex
	m  map[peer.ID]float64
}

func (s *scores) update(m map[peer.ID]float64) {
	s.mu.Lock()
	s.m = m
	s.mu.Unlock()
}

func (s *scores) get(p peer.ID) (float64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.m[p]
	return v, ok
}

// GossipScore returns p's gossipsub score as of the last second, if scoring
// is on (WithTopicScores) and the router knows p.
func (c *Client) GossipScore(p peer.ID) (float64, bool) { return c.scores.get(p) }
