package p2p

import (
	"context"
	"strings"
	"sync"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/headersync/headersync/internal/boundedmap"
)

// A seed or a discovered peer may run another chain: it connects, then
// serves none of this chain's protocols, and the sync services could only
// say "no connected peer serves this exchange yet". Its identify answer
// lists its DHT protocol, which names its chain (ChainDiscovery), so the
// client names the mismatch once per peer and the peer list shows it.

// maxChainRecords bounds the peers of other chains remembered: identities
// cost nothing to make.
const maxChainRecords = 1024

// otherChain returns the chain a peer's protocols say it runs, when that
// is not own. A peer without our DHT protocol family says nothing.
func otherChain(protos []protocol.ID, own string) (string, bool) {
	for _, p := range protos {
		rest, ok := strings.CutPrefix(string(p), "/headersync/")
		if !ok {
			continue
		}
		chain, ok := strings.CutSuffix(rest, "/kad/1.0.0")
		if !ok || chain == "" {
			continue
		}
		if chain == own {
			return "", false
		}
		return chain, true
	}
	return "", false
}

// chainRecords remembers which peers run another chain, at most
// maxChainRecords of them: the one noted longest ago is forgotten first (a
// peer seen again is logged again). The zero value is ready to use.
type chainRecords struct {
	once sync.Once
	m    *boundedmap.Map[peer.ID, string]
}

func (r *chainRecords) records() *boundedmap.Map[peer.ID, string] {
	r.once.Do(func() { r.m = boundedmap.New[peer.ID, string](maxChainRecords, 0) })
	return r.m
}

// note records p's chain and says whether it is new, i.e. to be logged.
func (r *chainRecords) note(p peer.ID, chain string) bool {
	news := false
	r.records().Update(p, func(old string, found bool) string {
		news = !found || old != chain
		return chain
	})
	return news
}

func (r *chainRecords) chainOf(p peer.ID) string {
	chain, _ := r.records().Get(p)
	return chain
}

// runChainWatch logs each peer of another chain once, as identify reports
// it, until ctx is done.
func (c *Client) runChainWatch(ctx context.Context, sub event.Subscription) {
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-sub.Out():
			if !ok {
				return
			}
			evt, ok := e.(event.EvtPeerIdentificationCompleted)
			if !ok {
				continue
			}
			if chain, other := otherChain(evt.Protocols, c.chainID); other && c.chains.note(evt.Peer, chain) {
				var addr string
				if evt.Conn != nil {
					addr = evt.Conn.RemoteMultiaddr().String()
				}
				c.logger.Warn("peer runs another chain; it cannot serve this one", "peer", evt.Peer,
					"its_chain", chain, "chain_id", c.chainID, "addr", addr)
			}
		}
	}
}

// subscribeIdentify subscribes to identify's results before the host
// dials anyone, so no peer's answer is missed.
func subscribeIdentify(h host.Host) (event.Subscription, error) {
	return h.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
}
