package p2p

import (
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/conngater"
	ma "github.com/multiformats/go-multiaddr"
)

// peerRules are the static filters from the configuration.
type peerRules struct {
	blocked map[peer.ID]struct{}
	allowed map[peer.ID]struct{}
}

func newPeerRules(blocked, allowed []peer.ID) peerRules {
	r := peerRules{
		blocked: make(map[peer.ID]struct{}, len(blocked)),
		allowed: make(map[peer.ID]struct{}, len(allowed)),
	}
	for _, p := range blocked {
		r.blocked[p] = struct{}{}
	}
	for _, p := range allowed {
		r.allowed[p] = struct{}{}
	}
	return r
}

// permits reports whether the configuration lets us connect to p.
func (r peerRules) permits(p peer.ID) bool {
	return peerPermitted(p, r, false)
}

// peerPermitted is the whole gating rule. A runtime ban wins over
// everything, because go-header bans peers that misbehave whatever the
// configuration says. Otherwise a non-empty allow-list decides alone, which
// is what makes a peer both blocked and allowed connect. Without an
// allow-list, only blocked peers are refused.
func peerPermitted(p peer.ID, rules peerRules, banned bool) bool {
	if banned {
		return false
	}
	if len(rules.allowed) > 0 {
		_, ok := rules.allowed[p]
		return ok
	}
	_, blocked := rules.blocked[p]
	return !blocked
}

// gater is the host's connection gater: the static rules plus the runtime
// bans and address blocks kept in a BasicConnectionGater, which go-header's
// exchange calls directly.
type gater struct {
	rules peerRules
	bans  *conngater.BasicConnectionGater
}

var _ connmgr.ConnectionGater = (*gater)(nil)

// permits applies the rule with the current runtime bans. The basic gater
// answers InterceptPeerDial with "not banned" in either direction, which is
// the question we need; its InterceptSecured skips outbound connections.
func (g *gater) permits(p peer.ID) bool {
	return peerPermitted(p, g.rules, !g.bans.InterceptPeerDial(p))
}

func (g *gater) InterceptPeerDial(p peer.ID) bool {
	return g.permits(p)
}

func (g *gater) InterceptAddrDial(p peer.ID, addr ma.Multiaddr) bool {
	return g.permits(p) && g.bans.InterceptAddrDial(p, addr)
}

// InterceptAccept cannot apply peer rules: the remote has not proved its
// identity yet. InterceptSecured does that once it has.
func (g *gater) InterceptAccept(addrs network.ConnMultiaddrs) bool {
	return g.bans.InterceptAccept(addrs)
}

func (g *gater) InterceptSecured(dir network.Direction, p peer.ID, addrs network.ConnMultiaddrs) bool {
	return g.permits(p) && g.bans.InterceptSecured(dir, p, addrs)
}

func (g *gater) InterceptUpgraded(conn network.Conn) (bool, control.DisconnectReason) {
	return g.bans.InterceptUpgraded(conn)
}
