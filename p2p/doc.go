// Package p2p owns the node's libp2p networking: the persistent identity key,
// the host (TCP and QUIC, Noise and TLS), the gossipsub router shared by every
// sync service, kad-DHT peer discovery, seed dialling and the connection gater.
//
// A node builds one Client with New from values the config package has
// parsed and validated, calls Start, hands Host, PubSub and ConnectionGater
// to its sync services, and calls Stop when it stops (the lifecycle contract
// in README, "Lifecycle").
//
// Gating: a peer in Blocked is never dialled and never accepted; a non-empty
// Allowed admits only the peers it lists, in and out, and wins over Blocked;
// a runtime ban (Ban, or go-header's through ConnectionGater) refuses anyone.
// Runtime bans expire after an hour and at most 4096 are kept.
package p2p
