package config_test

import (
	"crypto/rand"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/config"
)

// Every mistake in the p2p section is a *FieldError naming the field,
// before any p2p client is built. (Moved from the p2p package, which takes
// the parsed values.)
func TestP2PConfigRejects(t *testing.T) {
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	require.NoError(t, err)
	id, err := peer.IDFromPublicKey(pub)
	require.NoError(t, err)
	tests := []struct {
		name  string
		edit  func(*config.P2PConfig)
		field string
		want  string
	}{
		{"malformed seed", func(c *config.P2PConfig) { c.Seeds = []string{"not-a-multiaddr"} }, "p2p.seeds[0]", ""},
		{"seed without peer ID", func(c *config.P2PConfig) {
			c.Seeds = []string{"/ip4/127.0.0.1/tcp/26656/p2p/" + id.String(), "/ip4/127.0.0.1/tcp/26656"}
		}, "p2p.seeds[1]", "no /p2p/<peer ID> part"},
		{"invalid blocked peer", func(c *config.P2PConfig) { c.BlockedPeers = []string{"12D3KooWnotapeer"} }, "p2p.blocked_peers[0]", ""},
		{"invalid allowed peer", func(c *config.P2PConfig) { c.AllowedPeers = []string{id.String(), "/ip4/1.2.3.4"} }, "p2p.allowed_peers[1]", ""},
		{"too few max peers", func(c *config.P2PConfig) { c.MaxPeers = 4 }, "p2p.max_peers", "at least 8"},
		{"negative max peers", func(c *config.P2PConfig) { c.MaxPeers = -1 }, "p2p.max_peers", "0 (the default, 32)"},
		{"malformed listen address", func(c *config.P2PConfig) { c.ListenAddress = []string{"/ip4/127.0.0.1/tcp/x"} }, "p2p.listen_address[0]", ""},
		{"no listen address", func(c *config.P2PConfig) { c.ListenAddress = nil }, "p2p.listen_address", "no address given"},
		{"unsupported transport", func(c *config.P2PConfig) {
			c.ListenAddress = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"}
		}, "p2p.listen_address[1]", "unsupported transport; expected an IP address with TCP or QUIC"},
		{"listen on a name", func(c *config.P2PConfig) { c.ListenAddress = []string{"/dns4/localhost/tcp/0"} }, "p2p.listen_address[0]", "unsupported transport"},
		{"webtransport", func(c *config.P2PConfig) {
			c.ListenAddress = []string{"/ip4/127.0.0.1/udp/0/quic-v1/webtransport"}
		}, "p2p.listen_address[0]", "unsupported transport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.P2PConfig{ListenAddress: []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}}
			require.NoError(t, cfg.Validate(), "the base configuration is valid")
			tt.edit(&cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.ErrorIs(t, err, config.ErrInvalid)
			var fe *config.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.field, fe.Field)
			assert.Contains(t, err.Error(), tt.field)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestP2PConfigParses(t *testing.T) {
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	require.NoError(t, err)
	id, err := peer.IDFromPublicKey(pub)
	require.NoError(t, err)
	cfg := config.P2PConfig{
		ListenAddress: []string{"/ip4/0.0.0.0/tcp/26656", "/ip6/::1/udp/26656/quic-v1"},
		Seeds:         []string{"/ip4/127.0.0.1/tcp/1/p2p/" + id.String(), "/ip4/127.0.0.1/udp/1/quic-v1/p2p/" + id.String()},
		BlockedPeers:  []string{"/ip4/127.0.0.1/tcp/1/p2p/" + id.String()},
		AllowedPeers:  []string{id.String()},
	}
	listen, err := cfg.ListenMultiaddrs()
	require.NoError(t, err)
	require.Len(t, listen, 2)
	seeds, err := cfg.SeedAddrInfos()
	require.NoError(t, err)
	require.Len(t, seeds, 1, "two addresses of one peer are one seed")
	require.Len(t, seeds[0].Addrs, 2)
	blocked, err := cfg.BlockedPeerIDs()
	require.NoError(t, err)
	allowed, err := cfg.AllowedPeerIDs()
	require.NoError(t, err)
	require.Equal(t, []peer.ID{id}, blocked)
	require.Equal(t, []peer.ID{id}, allowed)
}
