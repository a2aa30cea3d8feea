package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

const (
	expectListen = "a multiaddr such as /ip4/0.0.0.0/tcp/26656 or /ip4/127.0.0.1/udp/26656/quic-v1"
	expectSeed   = "a multiaddr with a peer ID, such as /ip4/127.0.0.1/tcp/26656/p2p/12D3KooW..."
	expectPeer   = "a peer ID (12D3KooW...) or a multiaddr ending in /p2p/<peer ID>"
	// The node's host has only TCP and QUIC, and listens on IP addresses.
	expectTransport = "an IP address with TCP or QUIC (quic-v1), such as /ip4/0.0.0.0/tcp/26656"
)

// DefaultListenAddress is where a node listens when the configuration names
// no address: TCP and QUIC on every interface, port 26656.
var DefaultListenAddress = []string{"/ip4/0.0.0.0/tcp/26656", "/ip4/0.0.0.0/udp/26656/quic-v1"}

// P2PConfig configures the node's libp2p client.
//
// Peer filtering: a peer in BlockedPeers is never dialled and never accepted.
// A non-empty AllowedPeers restricts all connections, in and out, to the
// peers it lists; a peer that is both blocked and allowed is allowed.
type P2PConfig struct {
	// ListenAddress lists the multiaddrs the host listens on.
	ListenAddress []string `toml:"listen_address"`
	// Seeds lists peers to dial at start and to keep dialling while not
	// connected; each must name the peer (/p2p/<id>).
	Seeds []string `toml:"seeds"`
	// BlockedPeers lists peers (IDs or /p2p/ multiaddrs) never to connect to.
	BlockedPeers []string `toml:"blocked_peers"`
	// AllowedPeers, when not empty, lists the only peers to connect to.
	AllowedPeers []string `toml:"allowed_peers"`
	// MaxPeers bounds the node's connections (0: DefaultMaxPeers): more
	// are trimmed back to three quarters of it, and discovery dials only
	// while the node has fewer than a quarter of it (at least 8).
	MaxPeers int `toml:"max_peers"`
}

// DefaultMaxPeers is MaxPeers when the config sets none. A node needs a
// handful of connections (gossipsub keeps 6 to 12 mesh peers per topic);
// the rest is room for peers that dial it. It does not grow with the
// network: a node's cost should not either.
const DefaultMaxPeers = 32

// MinMaxPeers is the least MaxPeers: below it a node cannot keep a gossip
// mesh and room for the peers that dial it.
const MinMaxPeers = 8

// Validate checks every field and returns the first invalid one as a
// *FieldError.
func (c P2PConfig) Validate() error {
	if _, err := c.ListenMultiaddrs(); err != nil {
		return err
	}
	if _, err := c.SeedAddrInfos(); err != nil {
		return err
	}
	if _, err := c.BlockedPeerIDs(); err != nil {
		return err
	}
	if _, err := c.AllowedPeerIDs(); err != nil {
		return err
	}
	if c.MaxPeers != 0 && c.MaxPeers < MinMaxPeers {
		return fieldErr("p2p.max_peers", strconv.Itoa(c.MaxPeers),
			fmt.Sprintf("0 (the default, %d) or at least %d", DefaultMaxPeers, MinMaxPeers), nil)
	}
	return nil
}

// ListenMultiaddrs parses ListenAddress: IP addresses with TCP or QUIC,
// naming no peer.
func (c P2PConfig) ListenMultiaddrs() ([]ma.Multiaddr, error) {
	if len(c.ListenAddress) == 0 {
		return nil, fieldErr("p2p.listen_address", "", expectListen, errors.New("no address given"))
	}
	out := make([]ma.Multiaddr, 0, len(c.ListenAddress))
	for i, s := range c.ListenAddress {
		field := fmt.Sprintf("p2p.listen_address[%d]", i)
		addr, err := ma.NewMultiaddr(strings.TrimSpace(s))
		if err != nil {
			return nil, fieldErr(field, s, expectListen, err)
		}
		if _, err := addr.ValueForProtocol(ma.P_P2P); err == nil {
			return nil, fieldErr(field, s, expectListen, errors.New("a listen address must not name a peer"))
		}
		if !supportedTransport(addr) {
			return nil, fieldErr(field, s, expectTransport, errors.New("unsupported transport"))
		}
		out = append(out, addr)
	}
	return out, nil
}

// supportedTransport reports whether the node's host, having only TCP and
// QUIC, can listen on a: checked here so that the mistake is reported with
// its field name rather than as a libp2p error at start.
func supportedTransport(a ma.Multiaddr) bool {
	var tcp, quic, other bool
	for _, c := range a {
		switch c.Code() {
		case ma.P_IP4, ma.P_IP6, ma.P_UDP:
		case ma.P_TCP:
			tcp = true
		case ma.P_QUIC_V1:
			quic = true
		default:
			other = true
		}
	}
	return (tcp || quic) && !other
}

// SeedAddrInfos parses Seeds. Several addresses of the same peer are merged
// into one AddrInfo, in order of first appearance.
func (c P2PConfig) SeedAddrInfos() ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	index := make(map[peer.ID]int)
	for i, s := range c.Seeds {
		field := fmt.Sprintf("p2p.seeds[%d]", i)
		addr, err := ma.NewMultiaddr(strings.TrimSpace(s))
		if err != nil {
			return nil, fieldErr(field, s, expectSeed, err)
		}
		if _, err := addr.ValueForProtocol(ma.P_P2P); err != nil {
			return nil, fieldErr(field, s, expectSeed, errors.New("the address has no /p2p/<peer ID> part"))
		}
		info, err := peer.AddrInfoFromP2pAddr(addr)
		if err != nil {
			return nil, fieldErr(field, s, expectSeed, err)
		}
		if len(info.Addrs) == 0 {
			return nil, fieldErr(field, s, expectSeed, errors.New("the address names a peer but no transport to reach it"))
		}
		if j, ok := index[info.ID]; ok {
			out[j].Addrs = append(out[j].Addrs, info.Addrs...)
			continue
		}
		index[info.ID] = len(out)
		out = append(out, *info)
	}
	return out, nil
}

// BlockedPeerIDs parses BlockedPeers.
func (c P2PConfig) BlockedPeerIDs() ([]peer.ID, error) {
	return parsePeerIDs("p2p.blocked_peers", c.BlockedPeers)
}

// AllowedPeerIDs parses AllowedPeers.
func (c P2PConfig) AllowedPeerIDs() ([]peer.ID, error) {
	return parsePeerIDs("p2p.allowed_peers", c.AllowedPeers)
}

// ParsePeerID accepts a bare peer ID or a multiaddr that ends in /p2p/<id>.
func ParsePeerID(s string) (peer.ID, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "/") {
		addr, err := ma.NewMultiaddr(s)
		if err != nil {
			return "", err
		}
		info, err := peer.AddrInfoFromP2pAddr(addr)
		if err != nil {
			return "", err
		}
		return info.ID, nil
	}
	return peer.Decode(s)
}

func parsePeerIDs(field string, values []string) ([]peer.ID, error) {
	out := make([]peer.ID, 0, len(values))
	for i, s := range values {
		id, err := ParsePeerID(s)
		if err != nil {
			return nil, fieldErr(fmt.Sprintf("%s[%d]", field, i), s, expectPeer, err)
		}
		out = append(out, id)
	}
	return out, nil
}
