package p2p

import (
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// PeerInfo describes one connected peer.
type PeerInfo struct {
	ID peer.ID `json:"id"`
	// Direction is "inbound" or "outbound": who opened the connection.
	Direction string `json:"direction"`
	// Addr is the peer's end of the connection.
	Addr ma.Multiaddr `json:"addr"`
	// ConnectedSince is when the connection opened.
	ConnectedSince time.Time `json:"connected_since"`
	// Latency is libp2p's moving average of the peer's round trips, 0
	// until one was measured.
	Latency time.Duration `json:"latency"`
	// Chain is the peer's chain when its identify answer shows another
	// one than this node's; empty otherwise.
	Chain string `json:"chain,omitempty"`
}

// Peers lists the connected peers, sorted by ID. With several connections
// to one peer, the oldest one is described. It is empty before Start.
func (c *Client) Peers() []PeerInfo {
	h := c.Host()
	if h == nil {
		return nil
	}
	byPeer := make(map[peer.ID]PeerInfo)
	for _, conn := range h.Network().Conns() {
		stat := conn.Stat()
		info := PeerInfo{
			ID:             conn.RemotePeer(),
			Direction:      directionName(stat.Direction),
			Addr:           conn.RemoteMultiaddr(),
			ConnectedSince: stat.Opened,
			Latency:        h.Peerstore().LatencyEWMA(conn.RemotePeer()),
			Chain:          c.chains.chainOf(conn.RemotePeer()),
		}
		if old, ok := byPeer[info.ID]; ok && !info.ConnectedSince.Before(old.ConnectedSince) {
			continue
		}
		byPeer[info.ID] = info
	}
	out := make([]PeerInfo, 0, len(byPeer))
	for _, info := range byPeer {
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b PeerInfo) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out
}

func directionName(d network.Direction) string {
	switch d {
	case network.DirInbound:
		return "inbound"
	case network.DirOutbound:
		return "outbound"
	default:
		return "unknown"
	}
}

// PeerIDs lists the connected peers. It is empty before Start.
func (c *Client) PeerIDs() []peer.ID {
	h := c.Host()
	if h == nil {
		return nil
	}
	return h.Network().Peers()
}

// Addrs lists the node's addresses with its /p2p/ part, ready to be given to
// other nodes as seeds. It is empty before Start.
func (c *Client) Addrs() []ma.Multiaddr {
	h := c.Host()
	if h == nil {
		return nil
	}
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()})
	if err != nil {
		// Only an empty peer ID fails here, and a running host has one.
		return nil
	}
	return addrs
}
