package p2p

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/headersync/headersync/config"
)

func TestNewClientRejectsBadConfig(t *testing.T) {
	key, id := newIdentity(t)
	tests := []struct {
		name  string
		edit  func(*config.P2PConfig)
		field string
	}{
		{"malformed seed", func(c *config.P2PConfig) { c.Seeds = []string{"not-a-multiaddr"} }, "p2p.seeds[0]"},
		{"seed without peer ID", func(c *config.P2PConfig) {
			c.Seeds = []string{"/ip4/127.0.0.1/tcp/26656/p2p/" + id.String(), "/ip4/127.0.0.1/tcp/26656"}
		}, "p2p.seeds[1]"},
		{"invalid blocked peer", func(c *config.P2PConfig) { c.BlockedPeers = []string{"12D3KooWnotapeer"} }, "p2p.blocked_peers[0]"},
		{"invalid allowed peer", func(c *config.P2PConfig) { c.AllowedPeers = []string{id.String(), "/ip4/1.2.3.4"} }, "p2p.allowed_peers[1]"},
		{"malformed listen address", func(c *config.P2PConfig) { c.ListenAddress = []string{"/ip4/127.0.0.1/tcp/x"} }, "p2p.listen_address[0]"},
		{"no listen address", func(c *config.P2PConfig) { c.ListenAddress = nil }, "p2p.listen_address"},
		{"unsupported transport", func(c *config.P2PConfig) {
			c.ListenAddress = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"}
		}, "p2p.listen_address[1]"},
		{"listen on a name", func(c *config.P2PConfig) { c.ListenAddress = []string{"/dns4/localhost/tcp/0"} }, "p2p.listen_address[0]"},
		{"webtransport", func(c *config.P2PConfig) {
			c.ListenAddress = []string{"/ip4/127.0.0.1/udp/0/quic-v1/webtransport"}
		}, "p2p.listen_address[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loopbackConfig()
			tt.edit(&cfg)
			c, err := NewClient(cfg, key, testChainID, nil, nil)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, config.ErrInvalid)
			assert.Contains(t, err.Error(), tt.field)
		})
	}
}

func TestNewClientRejectsBadArguments(t *testing.T) {
	key, _ := newIdentity(t)
	for _, chainID := range []string{"", "a/b", "a b", "a\x00"} {
		t.Run(fmt.Sprintf("chain %q", chainID), func(t *testing.T) {
			_, err := NewClient(loopbackConfig(), key, chainID, nil, nil)
			require.ErrorIs(t, err, ErrInvalidChainID)
		})
	}
	t.Run("no key", func(t *testing.T) {
		_, err := NewClient(loopbackConfig(), nil, testChainID, nil, nil)
		require.Error(t, err)
	})
	t.Run("not ed25519", func(t *testing.T) {
		other, _, err := crypto.GenerateSecp256k1Key(rand.Reader)
		require.NoError(t, err)
		_, err = NewClient(loopbackConfig(), other, testChainID, nil, nil)
		require.Error(t, err)
	})
}

func TestClientLifecycle(t *testing.T) {
	defer goleak.VerifyNone(t)

	key, id := newIdentity(t)
	c, err := NewClient(loopbackConfig(), key, testChainID, nil, nil)
	require.NoError(t, err)
	require.Equal(t, id, c.ID())
	require.NotNil(t, c.ConnectionGater(), "the gater exists before Start, for go-header")
	require.Nil(t, c.Host())
	require.Nil(t, c.PubSub())
	require.Empty(t, c.Peers())
	require.Empty(t, c.PeerIDs())
	require.Empty(t, c.Addrs())

	require.NoError(t, c.Start(context.Background()))
	require.ErrorIs(t, c.Start(context.Background()), ErrAlreadyStarted)
	require.Equal(t, id, c.Host().ID())
	require.NotNil(t, c.PubSub())
	require.Len(t, c.Addrs(), 2)

	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "a second Close is harmless")
	require.ErrorIs(t, c.Start(context.Background()), ErrClosed)
}

func TestCloseBeforeStart(t *testing.T) {
	key, _ := newIdentity(t)
	c, err := NewClient(loopbackConfig(), key, testChainID, nil, nil)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	require.ErrorIs(t, c.Start(context.Background()), ErrClosed)
}

func TestCloseAfterFailedStart(t *testing.T) {
	defer goleak.VerifyNone(t)

	// A port held by a socket without SO_REUSEPORT cannot be listened on by
	// libp2p, which makes the host fail to start.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	cfg := loopbackConfig()
	cfg.ListenAddress = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", l.Addr().(*net.TCPAddr).Port)}

	key, _ := newIdentity(t)
	c, err := NewClient(cfg, key, testChainID, nil, nil)
	require.NoError(t, err)
	require.Error(t, c.Start(context.Background()))
	require.Nil(t, c.Host())
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
}

func TestContextCancelStopsClient(t *testing.T) {
	defer goleak.VerifyNone(t)

	key, _ := newIdentity(t)
	c, err := NewClient(loopbackConfig(), key, testChainID, nil, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, c.Start(ctx))
	cancel()
	// Without Close, the whole client shuts down; Close then only waits.
	require.Eventually(t, func() bool {
		select {
		case <-c.stopped:
			return true
		default:
			return false
		}
	}, eventually, tick)
	require.ErrorIs(t, c.Start(context.Background()), ErrClosed)
	require.NoError(t, c.Close())
}

func TestNoGoroutineLeakAfterClose(t *testing.T) {
	defer goleak.VerifyNone(t)

	a := startClient(t, loopbackConfig(), nil, nil)
	b := startClient(t, loopbackConfig(addrWithAll(t, a)...), nil, nil)
	require.Eventually(t, func() bool { return connected(a, b) && connected(b, a) }, eventually, tick)
	// Closing explicitly, before goleak looks: the cleanup's Close is then a no-op.
	require.NoError(t, errors.Join(b.Close(), a.Close()))
}

func addrWithAll(t *testing.T, c *Client) []string {
	t.Helper()
	var out []string
	for _, a := range c.Addrs() {
		out = append(out, a.String())
	}
	require.NotEmpty(t, out)
	return out
}
