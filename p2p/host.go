package p2p

import (
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// The connection manager trims a node's connections back to three quarters
// of maxPeers (its low watermark) once more than maxPeers (the high one) are
// open; seeds are protected. New connections are safe from trimming for a
// minute so that discovery and the exchange get to use them.
const connGracePeriod = time.Minute

// connLowWater is the connection manager's low watermark for maxPeers.
func connLowWater(maxPeers int) int { return maxPeers * 3 / 4 }

// userAgent tells peers (via identify) what software they talk to.
const userAgent = "headersync"

// newHost builds the libp2p host. Only TCP and QUIC are enabled, and nothing
// that contacts peers on its own (relay, NAT port mapping, hole punching,
// mDNS) is, so the node talks only to peers it dials or that dial it.
func newHost(key crypto.PrivKey, listen []ma.Multiaddr, g *gater, maxPeers int) (host.Host, error) {
	// The peerstore, resource manager and connection manager are built here,
	// not by libp2p, so that they can be closed when libp2p.New fails (for
	// example on a port in use): libp2p leaves them running in that case.
	ps, err := pstoremem.NewPeerstore()
	if err != nil {
		return nil, fmt.Errorf("create peerstore: %w", err)
	}
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.AutoScale()))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("create resource manager: %w", err), ps.Close())
	}
	cm, err := connmgr.NewConnManager(connLowWater(maxPeers), maxPeers, connmgr.WithGracePeriod(connGracePeriod))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("create connection manager: %w", err), rm.Close(), ps.Close())
	}
	h, err := libp2p.New(
		libp2p.Identity(key),
		// Listening happens below, once the host exists: libp2p.New leaks
		// its swarm when a listen fails, while Host.Close releases it.
		libp2p.NoListenAddrs,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		// TLS first: its AES-GCM runs on the CPU's AES instructions, while
		// Noise's ChaCha20-Poly1305 cost a catch-up several times more
		// (docs/performance.md). Peers that only speak Noise still connect.
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Peerstore(ps),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.ConnectionGater(g),
		libp2p.DisableRelay(),
		libp2p.UserAgent(userAgent),
	)
	if err != nil {
		return nil, errors.Join(err, cm.Close(), rm.Close(), ps.Close())
	}
	// One address at a time, so that every address must work (the swarm
	// settles for any one of a list) and the error names the one that did
	// not.
	for _, a := range listen {
		if err := h.Network().Listen(a); err != nil {
			return nil, errors.Join(fmt.Errorf("listen on %s: %w", a, err), h.Close())
		}
	}
	return h, nil
}
