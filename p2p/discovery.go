package p2p

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/namespace"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/discovery"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
	dutil "github.com/libp2p/go-libp2p/p2p/discovery/util"

	"github.com/headersync/headersync/internal/backoff"
)

const (
	// A failed advertisement is retried soon: until it succeeds nobody can
	// find us.
	advertiseRetryMin = time.Second
	advertiseRetryMax = time.Minute
	// readvertiseInterval refreshes our provider record well within its
	// validity, and places it on peers that have become closer to the key.
	readvertiseInterval = 10 * time.Minute
	// Searches start often so that a new node meets the network quickly, and
	// slow down once it has; late joiners advertise and are found within a
	// minute.
	findIntervalMin = 2 * time.Second
	findIntervalMax = time.Minute
	findTimeout     = 30 * time.Second
	findLimit       = 64
	// emptyTablePoll is how often the loops look again while the routing
	// table is empty: a DHT query then fails at once, and checking is free.
	emptyTablePoll = time.Second
	// dhtBucketSize is the DHT's k (default 20): the peers a lookup
	// returns and a provider record is stored on; dhtConcurrency its alpha
	// (default 10), the queries a lookup has in flight.
	dhtBucketSize  = 8
	dhtConcurrency = 3
	// dhtLookupChecks bounds the liveness checks (a FIND_NODE each) the DHT
	// runs at once on peers it may add to its routing table (default 256):
	// every peer that connects, or whose protocols change, is checked, and
	// in a network starting at once those checks kept both cores of a
	// 100-node benchmark busy answering one another.
	dhtLookupChecks = 4
	// dhtDatastorePrefix keeps the DHT's records apart from the rest of the
	// node's datastore.
	dhtDatastorePrefix = "/p2p/dht"
)

// newDHT starts a kad-DHT server bootstrapped from the seeds.
//
// Loopback and private addresses: kad-dht v0.42's defaults store and hand
// out every address (no AddressFilter) and query every peer (the query and
// routing-table filters accept all), which is what a private network needs
// and what loopback tests rely on. The public-network filters
// (PublicQueryFilter, PublicRoutingTableFilter, a public-only AddressFilter,
// as the dual DHT's WAN half uses) must not be added: they drop every
// loopback and LAN peer. The filters below only add the gating rules, so
// that lookups do not spend their slots on peers the gater would refuse.
func newDHT(h host.Host, ds datastore.Batching, prefix protocol.ID, seeds []peer.AddrInfo, g *gater) (*dht.IpfsDHT, error) {
	bucketSize := dhtBucketSize
	if prefix == dht.DefaultPrefix {
		// kad-dht refuses other buckets on the public DHT's protocol.
		bucketSize = 20
	}
	opts := []dht.Option{
		dht.Mode(dht.ModeServer),
		dht.ProtocolPrefix(prefix),
		dht.QueryFilter(func(_ any, ai peer.AddrInfo) bool { return g.permits(ai.ID) }),
		dht.RoutingTableFilter(func(_ any, p peer.ID) bool { return g.permits(p) }),
	}
	if len(seeds) > 0 {
		opts = append(opts, dht.BootstrapPeers(seeds...))
	}
	// The DHT only lets the nodes of one chain find each other. Its
	// defaults suit the public IPFS network and cost a node in proportion
	// to the size of the network (docs/performance.md, issue 15): a routing
	// table refresh at start and every 10 minutes that looks up a random
	// key per bucket, each lookup dialling up to 20 peers, 10 at a time.
	// Here the lookups discovery needs (when a node has fewer than
	// DiscoveryTarget connections) and the advertisement keep the table
	// filled; buckets of 8 and 3 lookups in flight dial fewer peers per
	// lookup.
	opts = append(opts, dht.DisableAutoRefresh(), dht.BucketSize(bucketSize), dht.Concurrency(dhtConcurrency),
		dht.LookupCheckConcurrency(dhtLookupChecks))
	if ds != nil {
		opts = append(opts, dht.Datastore(namespace.Wrap(ds, datastore.NewKey(dhtDatastorePrefix))))
	}
	kad, err := dht.New(h, opts...)
	if err != nil {
		return nil, fmt.Errorf("start DHT: %w", err)
	}
	return kad, nil
}

// runAdvertise keeps this node's provider record for the chain's namespace
// in the DHT until ctx is done.
func (c *Client) runAdvertise(ctx context.Context, kad *dht.IpfsDHT, rd *drouting.RoutingDiscovery, soon signal) {
	ns := c.discovery.Namespace
	retry := backoff.New(advertiseRetryMin, advertiseRetryMax)
	for {
		delay := emptyTablePoll
		if kad.RoutingTable().Size() > 0 {
			if _, err := rd.Advertise(ctx, ns); err != nil {
				if ctx.Err() != nil {
					return
				}
				delay = retry.Next()
				c.logger.Debug("advertise failed; will retry", "namespace", ns, "retry_in", delay, "err", err)
			} else {
				retry.Reset()
				delay = readvertiseInterval
				c.logger.Debug("advertised", "namespace", ns)
			}
		}
		if !wait(ctx, delay, soon) {
			return
		}
	}
}

// runFind looks up the chain's namespace periodically and connects to the
// peers found, until ctx is done.
func (c *Client) runFind(ctx context.Context, h host.Host, kad *dht.IpfsDHT, rd *drouting.RoutingDiscovery, soon signal) {
	interval := backoff.New(findIntervalMin, findIntervalMax)
	for {
		delay := emptyTablePoll
		if kad.RoutingTable().Size() > 0 {
			c.findAndConnect(ctx, h, rd)
			delay = interval.Next()
		}
		if !wait(ctx, delay, soon) {
			return
		}
	}
}

// findAndConnect runs one lookup and dials the peers found that are not
// connected yet and that the gater admits, as many as the node lacks of
// DiscoveryTarget connections; none, and no lookup, when it has them.
func (c *Client) findAndConnect(ctx context.Context, h host.Host, d discovery.Discoverer) {
	want := DiscoveryTarget(c.maxPeers) - len(h.Network().Peers())
	if want <= 0 {
		return
	}
	ns := c.discovery.Namespace
	findCtx, cancel := context.WithTimeout(ctx, findTimeout)
	defer cancel()
	found, err := dutil.FindPeers(findCtx, d, ns, discovery.Limit(findLimit))
	if err != nil {
		c.logger.Debug("find peers failed", "namespace", ns, "err", err)
		return
	}
	// In random order, so that the nodes that answer first are not dialled
	// by everyone.
	rand.Shuffle(len(found), func(i, j int) { found[i], found[j] = found[j], found[i] })
	var dials sync.WaitGroup
	for _, ai := range found {
		if ai.ID == h.ID() || h.Network().Connectedness(ai.ID) == network.Connected {
			continue
		}
		if want == 0 {
			break
		}
		if !c.gater.permits(ai.ID) {
			c.logger.Debug("not connecting to discovered peer: gated", "peer", ai.ID)
			continue
		}
		want--
		dials.Go(func() {
			dialCtx, cancel := context.WithTimeout(ctx, dialTimeout)
			defer cancel()
			if err := h.Connect(dialCtx, ai); err != nil {
				c.logger.Debug("connect to discovered peer failed", "peer", ai.ID, "addrs", ai.Addrs, "err", err)
				return
			}
			c.logger.Info("connected to discovered peer", "peer", ai.ID)
		})
	}
	dials.Wait()
}
