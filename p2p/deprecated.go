package p2p

import (
	"context"
	"log/slog"

	"github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/headersync/headersync/config"
)

// NewClient parses cfg with the config package's parsers and calls New.
//
// Deprecated: use New with values parsed by config.P2PConfig's parsers (as
// node does). Kept only while code outside this package's owners (p2psync's
// tests, internal/adversary, internal/bench) still calls it; remove it then,
// and this package no longer imports config.
func NewClient(cfg config.P2PConfig, key crypto.PrivKey, chainID string, ds datastore.Batching, logger *slog.Logger, opts ...Option) (*Client, error) {
	parsed, err := parseConfig(cfg)
	if err != nil {
		return nil, err
	}
	return New(parsed, key, chainID, ds, logger, opts...)
}

// parseConfig turns the configuration's strings into a Config; errors are
// the config package's *config.FieldError.
//
// Deprecated: see NewClient.
func parseConfig(cfg config.P2PConfig) (Config, error) {
	listen, err := cfg.ListenMultiaddrs()
	if err != nil {
		return Config{}, err
	}
	seeds, err := cfg.SeedAddrInfos()
	if err != nil {
		return Config{}, err
	}
	blocked, err := cfg.BlockedPeerIDs()
	if err != nil {
		return Config{}, err
	}
	allowed, err := cfg.AllowedPeerIDs()
	if err != nil {
		return Config{}, err
	}
	return Config{Listen: listen, Seeds: seeds, Blocked: blocked, Allowed: allowed}, nil
}

// Close is Stop without a deadline.
//
// Deprecated: use Stop.
func (c *Client) Close() error { return c.Stop(context.Background()) }
