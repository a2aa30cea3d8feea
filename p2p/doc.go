// Package p2p owns the node's libp2p networking: the persistent identity key,
// the host (TCP and QUIC, Noise and TLS), the gossipsub router shared by every
// sync service, kad-DHT peer discovery, seed dialling and the connection gater.
//
// A node builds one Client with NewClient, calls Start, hands Host, PubSub and
// ConnectionGater to its sync services, and calls Close when it stops.
//
// Gating: a peer in BlockedPeers is never dialled and never accepted; a
// non-empty AllowedPeers admits only the peers it lists, in and out, and wins
// over BlockedPeers; a runtime ban through ConnectionGater refuses anyone.
package p2p
