package p2psync

import "github.com/libp2p/go-libp2p/core/peer"

// PeerState is what one service knows of a connected peer, for the peer
// list an operator reads.
type PeerState struct {
	// Serves says whether the peer announced this service's exchange
	// protocol (in its identify answer): a peer of another chain, or a
	// light node for blocks, does not.
	Serves bool `json:"serves"`
	// Strikes counts the peer's recent failures to answer (forgotten after
	// a minute without one); at maxStrikes it is asked last.
	Strikes int `json:"strikes"`
	// Banned says this service banned the peer for misbehaviour.
	Banned bool `json:"banned"`
}

// PeerState reports what the service knows of p.
func (s *Service[H]) PeerState(p peer.ID) PeerState {
	return PeerState{
		Serves:  s.serves(p),
		Strikes: s.cfg.Reputation.Strikes(p),
		Banned:  s.cfg.Reputation.Banned(p),
	}
}
