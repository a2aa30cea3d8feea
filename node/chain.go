package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/celestiaorg/go-header"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/headersync/headersync/api"
	"github.com/headersync/headersync/p2p"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/types"
	"github.com/headersync/headersync/types/rollkit"
)

// syncService is what the node needs of a sync service, whatever its
// header type.
type syncService interface {
	Start(context.Context) error
	Stop(context.Context) error
	State(context.Context) p2psync.State
	PeerState(peer.ID) p2psync.PeerState
	Base() uint64
	Height() uint64
	GossipCounts() (accepted, ignored, rejected uint64)
	RequestsRefused() uint64
}

// chainFormat builds and reads a node's header and block services in one
// header format. A format is a pair of header types and how the API shows
// them: chainOf is the one implementation, per format.
type chainFormat interface {
	// build creates the header service (the block service too unless
	// light), sequencers when cfg says so; it starts nothing.
	build(cfg p2psync.Config, light bool, net p2psync.Network, ds p2psync.Datastore) error
	headerService() syncService
	blockService() syncService // nil on light nodes
	// crossCheck returns the full node's cross-check of blocks against
	// headers, to run, and what it reports.
	crossCheck(ds p2psync.Datastore, g *types.Genesis, trusted header.Hash, log *slog.Logger) (func(context.Context), *crossCheckStats)
	// checkStored checks the stored chains' ends against the genesis and
	// returns the first fault.
	checkStored(ctx context.Context, ds p2psync.Datastore, g *types.Genesis, light bool) error

	head(ctx context.Context) (api.HeaderJSON, error)
	headerAt(ctx context.Context, height uint64) (api.HeaderJSON, error)
	headerByHash(ctx context.Context, hash header.Hash) (api.HeaderJSON, error)
	blockAt(ctx context.Context, height uint64) (api.BlockJSON, error)
}

// chainOf is chainFormat for header type H and block type B.
type chainOf[H p2psync.Header[H], B p2psync.Header[B]] struct {
	headers    *p2psync.Service[H]
	blocks     *p2psync.Service[B] // nil on light nodes
	seqHeaders *p2psync.Sequencer[H]
	seqBlocks  *p2psync.Sequencer[B]
	headerJSON func(H) api.HeaderJSON
	blockJSON  func(B) api.BlockJSON
}

// nativeChain is the project's own format; the sequencer role needs it.
type nativeChain = chainOf[*types.SignedHeader, *types.Block]

// chainFor returns the services of the genesis's format, unbuilt.
func chainFor(g *types.Genesis) (chainFormat, error) {
	switch f := g.HeaderFormat(); f {
	case types.FormatHeadersync:
		return &nativeChain{
			headerJSON: func(sh *types.SignedHeader) api.HeaderJSON { return api.NewHeaderJSON(sh) },
			blockJSON:  func(b *types.Block) api.BlockJSON { return api.NewBlockJSON(b.SignedHeader(), b.Data()) },
		}, nil
	case types.FormatRollkit013:
		return &chainOf[*rollkit.SignedHeader, *rollkit.Block]{
			headerJSON: func(sh *rollkit.SignedHeader) api.HeaderJSON { return api.NewHeaderJSON(sh) },
			blockJSON:  func(b *rollkit.Block) api.BlockJSON { return api.NewBlockJSON(b.SignedHeader(), b.Data()) },
		}, nil
	default:
		return nil, fmt.Errorf("header format %q: no node implementation", f)
	}
}

// discoveryOf is how a node of chain g finds its peers: the native
// format's private per-chain DHT, or on a rollkit chain rollkit's own (the
// public DHT's protocol, kad-dht's default, and the chain ID as the
// rendezvous key: rollkit v0.13's p2p client), so that rollkit's nodes
// and this one find each other.
func discoveryOf(g *types.Genesis) p2p.Discovery {
	if g.HeaderFormat() == types.FormatRollkit013 {
		return p2p.Discovery{ProtocolPrefix: dht.DefaultPrefix, Namespace: g.ChainID}
	}
	return p2p.ChainDiscovery(g.ChainID)
}

func (c *chainOf[H, B]) build(cfg p2psync.Config, light bool, net p2psync.Network, ds p2psync.Datastore) error {
	hc := cfg
	hc.Kind = p2psync.Headers
	var err error
	if c.headers, c.seqHeaders, err = newService[H](hc, net, ds); err != nil {
		return err
	}
	if light {
		return nil
	}
	bc := cfg
	bc.Kind = p2psync.Blocks
	c.blocks, c.seqBlocks, err = newService[B](bc, net, ds)
	return err
}

func (c *chainOf[H, B]) headerService() syncService { return c.headers }

func (c *chainOf[H, B]) blockService() syncService {
	if c.blocks == nil {
		return nil // not a typed nil in the interface
	}
	return c.blocks
}

func (c *chainOf[H, B]) crossCheck(ds p2psync.Datastore, g *types.Genesis, trusted header.Hash, log *slog.Logger) (func(context.Context), *crossCheckStats) {
	cc := &crossChecker[H, B]{crossCheckStats: new(crossCheckStats), headers: c.headers, blocks: c.blocks,
		ds: ds, genesis: g, trustedHash: trusted, log: log}
	return cc.run, cc.crossCheckStats
}

func (c *chainOf[H, B]) checkStored(ctx context.Context, ds p2psync.Datastore, g *types.Genesis, light bool) error {
	if err := p2psync.CheckStoredEnds[H](ctx, ds, p2psync.Headers, g); err != nil || light {
		return err
	}
	return p2psync.CheckStoredEnds[B](ctx, ds, p2psync.Blocks, g)
}

func (c *chainOf[H, B]) head(ctx context.Context) (api.HeaderJSON, error) {
	h, err := c.headers.Head(ctx)
	if errors.Is(err, header.ErrNoHead) {
		return api.HeaderJSON{}, fmt.Errorf("%w: header service waiting for %s", api.ErrNotReady, c.headers.State(ctx).WaitingFor)
	}
	if err != nil {
		return api.HeaderJSON{}, corruptAt("the head", err)
	}
	return c.headerJSON(h), nil
}

func (c *chainOf[H, B]) headerAt(ctx context.Context, height uint64) (api.HeaderJSON, error) {
	h, err := c.headers.GetByHeight(ctx, height)
	if err != nil {
		return api.HeaderJSON{}, corruptAt(fmt.Sprintf("height %d", height), err)
	}
	return c.headerJSON(h), nil
}

func (c *chainOf[H, B]) headerByHash(ctx context.Context, hash header.Hash) (api.HeaderJSON, error) {
	h, err := c.headers.Get(ctx, hash)
	if err != nil {
		return api.HeaderJSON{}, corruptAt("header "+hash.String(), err)
	}
	return c.headerJSON(h), nil
}

func (c *chainOf[H, B]) blockAt(ctx context.Context, height uint64) (api.BlockJSON, error) {
	if c.blocks == nil {
		return api.BlockJSON{}, api.ErrNoBlocks
	}
	b, err := c.blocks.GetByHeight(ctx, height)
	var pruned *p2psync.PrunedError
	if errors.Is(err, header.ErrNotFound) && !errors.As(err, &pruned) {
		return api.BlockJSON{}, errBlockNotFound{}
	}
	if err != nil {
		return api.BlockJSON{}, corruptAt(fmt.Sprintf("height %d", height), err)
	}
	return c.blockJSON(b), nil
}
