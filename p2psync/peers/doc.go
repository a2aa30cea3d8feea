// Package peers is what a sync service knows and asks of its peers, apart
// from any rule about headers: which peers serve an exchange protocol, one
// request to one of them (Client.Request), the network-head vote
// (Client.Head), and each peer's reputation (Reputation): strikes for failing
// to answer, a ban for an answer no honest peer gives. It depends on
// go-header's Header interface and libp2p only; the rules that decide what a
// valid header is are the caller's, handed in as check functions.
//
// One Reputation is shared by a node's header and block services: a peer
// banned by one is banned by both.
package peers
