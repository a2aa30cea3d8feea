// Package p2psync runs one P2P sync service for one kind of header (signed
// headers or whole blocks) over the node's libp2p host and datastore.
//
// A node runs one Service for *types.SignedHeader (network ID = chain ID,
// store prefix "headerEx") and, unless it is a light node, a second for
// *types.Block (network ID = chain ID + "-block", prefix "blockEx"). Only
// NewSequencer makes a service that publishes (Sequencer).
//
// # Components
//
// Each component owns one concern and is handed what it needs as values or
// functions; none holds the Service. The Service only starts them in order,
// stops them in reverse and answers reads (state.go).
//
//   - chainInit (init.go): the one place a store gets its first header.
//   - bootstrap (init.go): the init loop of a service whose store is empty.
//   - gossipGate (gossip.go): subscriber, validator, verdict counts, and the
//     slot where go-header's syncer puts its verifier.
//   - fetcher (fetch.go): the syncer's header.Getter: ranges as concurrent,
//     linked-verified chunks; knows the syncer only as its target height.
//   - follower (follow.go): go-header's syncer, its start and stop, and
//     keeping its target fresh.
//   - exchangeServer (server.go, limits.go): serving peers behind limits.
//   - publisher (publish.go): the sequencer's append, durable wait and
//     broadcast, and its recovery.
//   - rules.go: what a header must be to be trusted, shared by all.
//
// What asks and judges peers — one request to one peer, the head vote, the
// strikes and bans — is the sub-package peers: it knows no header rule
// (checks are handed in), so it stands below this package, and one
// peers.Reputation is shared by a node's two services. The components above
// stay in this package because each is generic over Header and uses the
// rules; splitting them into packages would only export what is private.
//
// # Initialisation
//
// Start never blocks on the network. A service whose store is empty
// initialises in the background (see InitPlan): a sequencer from the first
// header it publishes; other nodes from the TrustedHash header, or else the
// header at the genesis initial height, fetched from peers or taken from
// gossip, retrying with backoff until it arrives. Every first header must be
// signed by the genesis sequencer key, and so must every header the service
// accepts from gossip or as a network head afterwards.
package p2psync
