package bench

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/headersync/headersync/internal/netdelay"
	"github.com/headersync/headersync/p2p"
)

// With --rtt, each serving node is reached through its own netdelay relay,
// and nothing may bypass it. The serving nodes listen on 127.0.0.1 (TCP
// only: a QUIC path would go around a TCP relay), the relays on relayIP,
// and the syncing node's gater refuses 127.0.0.1 in both directions. So the
// direct addresses it learns from identify and the DHT are never dialled,
// and a serving node that finds the syncing node through the DHT cannot
// dial it directly either.
var (
	relayIP  = net.IPv4(127, 0, 0, 2)
	directIP = net.IPv4(127, 0, 0, 1)
)

// relayFor starts a relay in front of client's TCP address with half of
// rtt in each direction and returns it with the seed that reaches the
// client through it.
func relayFor(ctx context.Context, client *p2p.Client, rtt time.Duration) (*netdelay.Relay, string, error) {
	var target string
	for _, a := range client.Host().Addrs() {
		if na, err := manet.ToNetAddr(a); err == nil {
			if tcp, ok := na.(*net.TCPAddr); ok {
				target = tcp.String()
				break
			}
		}
	}
	if target == "" {
		return nil, "", fmt.Errorf("relay: serving node %s has no TCP address in %v", client.ID(), client.Host().Addrs())
	}
	r, err := netdelay.Listen(ctx, net.JoinHostPort(relayIP.String(), "0"), target, rtt/2)
	if err != nil {
		return nil, "", fmt.Errorf("relay to %s: %w", target, err)
	}
	seed := fmt.Sprintf("/ip4/%s/tcp/%d/p2p/%s", relayIP, r.Addr().Port, client.ID())
	return r, seed, nil
}

// countRelayed counts h's connections to the serving nodes that go through
// a relay and those that do not.
func countRelayed(h host.Host, servers []peer.ID) (relayed, direct int) {
	for _, id := range servers {
		for _, c := range h.Network().ConnsToPeer(id) {
			ip, err := manet.ToIP(c.RemoteMultiaddr())
			if err == nil && ip.Equal(relayIP) {
				relayed++
			} else {
				direct++
			}
		}
	}
	return relayed, direct
}

// relayed reports whether any serving node sits behind a relay: any RTT
// above zero puts every one of them behind one (a zero one only forwards).
func relayed(rtts []time.Duration) bool {
	for _, d := range rtts {
		if d > 0 {
			return true
		}
	}
	return false
}

// rttFor is the RTT of serving node i: one value for all, or one each.
func rttFor(rtts []time.Duration, i int) time.Duration {
	switch len(rtts) {
	case 0:
		return 0
	case 1:
		return rtts[0]
	default:
		return rtts[i]
	}
}

// formatRTTs writes RTTs in milliseconds, comma-separated; 0 for none.
func formatRTTs(rtts []time.Duration) string {
	if len(rtts) == 0 {
		return "0"
	}
	parts := make([]string, len(rtts))
	for i, d := range rtts {
		parts[i] = strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64)
	}
	return strings.Join(parts, ",")
}

// steadyWatch samples a height often enough to time the middle of a
// catch-up: the headers gained between the first samples at or past 10 %
// and at or past 90 % of the target, over the time between them. The fixed
// round trips at the start (head vote, first header, stream set-up) and the
// tail are left out; what remains is the rate the pipeline sustains.
type steadyWatch struct {
	done     chan struct{}
	finished chan struct{}

	mu                   sync.Mutex
	h10, h90             uint64
	t10, t90             time.Time
	reached10, reached90 bool
}

const steadySample = 5 * time.Millisecond

func watchSteady(height func() uint64, target uint64) *steadyWatch {
	w := &steadyWatch{done: make(chan struct{}), finished: make(chan struct{})}
	lo, hi := (target+9)/10, (target*9+9)/10
	go func() {
		defer close(w.finished)
		t := time.NewTicker(steadySample)
		defer t.Stop()
		sample := func() (reached bool) {
			h, now := height(), time.Now()
			w.mu.Lock()
			defer w.mu.Unlock()
			if !w.reached10 && h >= lo {
				w.reached10, w.h10, w.t10 = true, h, now
			}
			if w.reached10 && h >= hi {
				w.reached90, w.h90, w.t90 = true, h, now
			}
			return w.reached90
		}
		for !sample() {
			select {
			case <-w.done:
				// The catch-up may end between two ticks: one last look.
				sample()
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// Stop ends the sampling and returns the steady rate in headers per second,
// 0 if the catch-up did not pass both marks in different samples.
func (w *steadyWatch) Stop() float64 {
	close(w.done)
	<-w.finished
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.reached90 || !w.t90.After(w.t10) {
		return 0
	}
	return float64(w.h90-w.h10) / w.t90.Sub(w.t10).Seconds()
}
