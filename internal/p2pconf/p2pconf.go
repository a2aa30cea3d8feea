// Package p2pconf builds a p2p.Config from the strings of a config file's
// [p2p] section, with the config package's parsers and errors: what node
// does for a real node, for the tests, benchmarks and test peers that make
// clients of their own.
package p2pconf

import (
	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/p2p"
)

// Parse turns cfg's strings into a p2p.Config; errors are *config.FieldError.
func Parse(cfg config.P2PConfig) (p2p.Config, error) {
	listen, err := cfg.ListenMultiaddrs()
	if err != nil {
		return p2p.Config{}, err
	}
	seeds, err := cfg.SeedAddrInfos()
	if err != nil {
		return p2p.Config{}, err
	}
	blocked, err := cfg.BlockedPeerIDs()
	if err != nil {
		return p2p.Config{}, err
	}
	allowed, err := cfg.AllowedPeerIDs()
	if err != nil {
		return p2p.Config{}, err
	}
	return p2p.Config{Listen: listen, Seeds: seeds, Blocked: blocked, Allowed: allowed, MaxPeers: cfg.MaxPeers}, nil
}
