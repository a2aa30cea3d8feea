// Package p2psync runs one P2P sync service: go-header's store, gossip
// subscriber, exchange server, exchange client and syncer, wired together
// for one kind of header (signed headers or whole blocks) over the node's
// libp2p host and datastore.
//
// A node runs one Service for *types.SignedHeader (network ID = chain ID,
// store prefix "headerEx") and, unless it is a light node, a second for
// *types.Block (network ID = chain ID + "-block", prefix "blockEx").
//
// Start never blocks on the network. A service whose store is empty
// initialises in the background (see InitPlan): a sequencer from the first
// header it publishes; other nodes from the TrustedHash header, or else the
// header at the genesis initial height, fetched from peers or taken from
// gossip, retrying with backoff until it arrives. Every first header must be
// signed by the genesis sequencer key, and so must every header the service
// accepts from gossip or as a network head afterwards.
package p2psync
