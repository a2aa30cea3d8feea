// Package testnet runs a whole network in one process on loopback: a
// sequencer, full nodes seeded by it and light nodes seeded by the first full
// node (or the sequencer when there is none), each with its own home and
// datastore. The devnet command, the node tests and the benchmarks all start
// networks through it.
package testnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/node"
	"github.com/headersync/headersync/types"
)

// Options describe a network.
type Options struct {
	// Dir holds one home per node (Dir/sequencer, Dir/full-1, ...). Homes
	// already there are reused, so a network can be stopped and restarted.
	Dir       string
	ChainID   string        // default "devnet"
	Full      int           // full nodes
	Light     int           // light nodes
	BlockTime time.Duration // default 1s
	// APIPortBase gives the sequencer's API port; the others follow in
	// order. Zero picks free ports.
	APIPortBase int
	// Logger receives every node's log, tagged node=<name>.
	Logger *slog.Logger
	// Sync tunes every node's sync services.
	Sync node.SyncTuning
	// Configure, if set, adjusts each node's configuration just before it
	// starts; the members started so far are in net.
	Configure func(net *Network, m *Member, cfg *config.NodeConfig)
}

// Member is one node of the network.
type Member struct {
	Name string
	Role config.Role
	Home config.Home
	Node *node.Node
}

// APIURL returns the member's API base URL.
func (m *Member) APIURL() string { return "http://" + m.Node.APIAddr() }

// Network is a running network.
type Network struct {
	Members []*Member // sequencer first, then full, then light nodes
	Genesis *types.Genesis
}

// Start creates (or reuses) the homes and starts the sequencer, then the full
// nodes, then the light nodes. On failure it stops what it started.
func Start(ctx context.Context, o Options) (_ *Network, err error) {
	if o.Dir == "" {
		return nil, errors.New("testnet: no directory")
	}
	if o.ChainID == "" {
		o.ChainID = "devnet"
	}
	if o.BlockTime == 0 {
		o.BlockTime = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Full < 0 || o.Light < 0 {
		return nil, fmt.Errorf("testnet: %d full and %d light nodes; expected zero or more", o.Full, o.Light)
	}
	net := &Network{}
	defer func() {
		if err != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = net.Stop(stopCtx) // the start error is the one to report
		}
	}()

	names := []string{"sequencer"}
	roles := []config.Role{config.RoleSequencer}
	for i := 1; i <= o.Full; i++ {
		names, roles = append(names, "full-"+strconv.Itoa(i)), append(roles, config.RoleFull)
	}
	for i := 1; i <= o.Light; i++ {
		names, roles = append(names, "light-"+strconv.Itoa(i)), append(roles, config.RoleLight)
	}

	for i, name := range names {
		m := &Member{Name: name, Role: roles[i], Home: config.Home(filepath.Join(o.Dir, name))}
		if err := prepareHome(m, o, i, net.Genesis); err != nil {
			return nil, err
		}
		opts, cfg, err := loadMember(m, o, net)
		if err != nil {
			return nil, err
		}
		if net.Genesis == nil {
			net.Genesis = opts.Genesis
		}
		opts.Config = cfg
		opts.Logger = o.Logger.With("node", name)
		opts.Sync = o.Sync
		if m.Node, err = node.New(opts); err != nil {
			return nil, fmt.Errorf("testnet: node %s: %w", name, err)
		}
		if err := m.Node.Start(ctx); err != nil {
			return nil, fmt.Errorf("testnet: start %s: %w", name, err)
		}
		net.Members = append(net.Members, m)
	}
	return net, nil
}

// prepareHome initialises m's home unless it already has a config.
func prepareHome(m *Member, o Options, index int, genesis *types.Genesis) error {
	if _, err := os.Stat(m.Home.ConfigFile()); err == nil {
		return nil
	}
	cfg := config.Default(m.Role, o.ChainID)
	cfg.BlockTime = config.Duration(o.BlockTime)
	cfg.P2P.ListenAddress = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	cfg.API.Listen = apiListen(o.APIPortBase, index)
	in := node.InitOptions{Role: m.Role, ChainID: o.ChainID, Config: &cfg}
	if m.Role != config.RoleSequencer {
		in.Genesis = genesis
	}
	if _, err := node.InitHome(m.Home, in); err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	return nil
}

// loadMember reads m's home and points it at the network's seeds.
func loadMember(m *Member, o Options, net *Network) (node.Options, config.NodeConfig, error) {
	cfg, err := config.Load(m.Home.ConfigFile())
	if err != nil {
		return node.Options{}, cfg, fmt.Errorf("testnet: %w", err)
	}
	if cfg.Role != m.Role {
		return node.Options{}, cfg, fmt.Errorf("testnet: %s holds a %s node, expected %s", m.Home, cfg.Role, m.Role)
	}
	cfg.BlockTime = config.Duration(o.BlockTime)
	if o.Configure != nil {
		o.Configure(net, m, &cfg)
	}
	if o.APIPortBase != 0 {
		cfg.API.Listen = apiListen(o.APIPortBase, len(net.Members))
	}
	// Ports are picked afresh at each start, so seeds are too.
	cfg.P2P.Seeds = nil
	if seed := net.seedFor(m.Role); seed != nil {
		for _, a := range seed.Node.P2P().Addrs() {
			cfg.P2P.Seeds = append(cfg.P2P.Seeds, a.String())
		}
	}
	opts, err := node.FromHome(m.Home, cfg)
	if err != nil {
		return node.Options{}, cfg, fmt.Errorf("testnet: %w", err)
	}
	if net.Genesis != nil && opts.Genesis.ChainID != net.Genesis.ChainID {
		return node.Options{}, cfg, fmt.Errorf("testnet: %s is a node of chain %q, not %q", m.Home, opts.Genesis.ChainID, net.Genesis.ChainID)
	}
	return opts, cfg, nil
}

// seedFor names who a new node of role r dials first: full nodes the
// sequencer, light nodes the first full node if there is one. Everyone finds
// everyone else through the DHT.
func (n *Network) seedFor(r config.Role) *Member {
	if r == config.RoleLight {
		if full := n.Full(); len(full) > 0 {
			return full[0]
		}
	}
	if r == config.RoleSequencer {
		return nil
	}
	return n.Sequencer()
}

func apiListen(base, index int) string {
	if base == 0 {
		return "127.0.0.1:0"
	}
	return "127.0.0.1:" + strconv.Itoa(base+index)
}

// Sequencer returns the sequencer (nil before it started).
func (n *Network) Sequencer() *Member {
	for _, m := range n.Members {
		if m.Role == config.RoleSequencer {
			return m
		}
	}
	return nil
}

// Full returns the full nodes.
func (n *Network) Full() []*Member { return n.byRole(config.RoleFull) }

// Light returns the light nodes.
func (n *Network) Light() []*Member { return n.byRole(config.RoleLight) }

func (n *Network) byRole(r config.Role) []*Member {
	var out []*Member
	for _, m := range n.Members {
		if m.Role == r {
			out = append(out, m)
		}
	}
	return out
}

// Stop stops every node, light nodes first and the sequencer last.
func (n *Network) Stop(ctx context.Context) error {
	var errs []error
	for i := len(n.Members) - 1; i >= 0; i-- {
		if err := n.Members[i].Node.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n.Members[i].Name, err))
		}
	}
	return errors.Join(errs...)
}
