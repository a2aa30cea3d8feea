package p2p

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/headersync/headersync/config"
)

const testChainID = "test-chain"

// eventually is the default deadline for network conditions on loopback.
const eventually = 15 * time.Second
const tick = 20 * time.Millisecond

// stopDeadline bounds every Stop in these tests: a Stop that takes longer
// is a bug, reported rather than waited for.
const stopDeadline = 10 * time.Second

// newIdentity creates an identity key in a fresh directory, the way a node
// does on first start.
func newIdentity(t *testing.T) (crypto.PrivKey, peer.ID) {
	t.Helper()
	key, err := LoadOrCreateIdentity(t.TempDir() + "/node_key")
	require.NoError(t, err)
	id, err := peer.IDFromPrivateKey(key)
	require.NoError(t, err)
	return key, id
}

// loopbackConfig listens on ephemeral loopback ports, TCP and QUIC.
func loopbackConfig(seeds ...string) config.P2PConfig {
	return config.P2PConfig{
		ListenAddress: []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"},
		Seeds:         seeds,
	}
}

func newTestDatastore() datastore.Batching {
	return dssync.MutexWrap(datastore.NewMapDatastore())
}

// startClient starts a client that is closed when the test ends.
func startClient(t *testing.T, cfg config.P2PConfig, key crypto.PrivKey, logger *slog.Logger) *Client {
	t.Helper()
	if key == nil {
		key, _ = newIdentity(t)
	}
	if logger == nil {
		logger = testLogger(t)
	}
	c, err := newClient(cfg, key, testChainID, newTestDatastore(), logger)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, stopWithin(t, c)) })
	return c
}

// newClient builds a client from the configuration's strings, parsed as a
// node parses them.
func newClient(cfg config.P2PConfig, key crypto.PrivKey, chainID string, ds datastore.Batching, logger *slog.Logger, opts ...Option) (*Client, error) {
	parsed, err := parseConfig(cfg)
	if err != nil {
		return nil, err
	}
	return New(parsed, key, chainID, ds, logger, opts...)
}

func connected(a, b *Client) bool {
	return a.Host().Network().Connectedness(b.ID()) == network.Connected
}

// addrWith returns c's full multiaddr (with /p2p/) that uses the protocol.
func addrWith(t *testing.T, c *Client, code int) string {
	t.Helper()
	for _, a := range c.Addrs() {
		if _, err := a.ValueForProtocol(code); err == nil {
			return a.String()
		}
	}
	t.Fatalf("%s has no address with protocol %d: %v", c.ID(), code, c.Addrs())
	return ""
}

func addrInfo(c *Client) peer.AddrInfo {
	return peer.AddrInfo{ID: c.ID(), Addrs: c.Host().Addrs()}
}

// countInbound counts the connections from p that h accepted.
func countInbound(h host.Host, p peer.ID) *atomic.Int32 {
	var n atomic.Int32
	h.Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if c.RemotePeer() == p && c.Stat().Direction == network.DirInbound {
			n.Add(1)
		}
	}})
	return &n
}

func hasProtocol(a ma.Multiaddr, code int) bool {
	_, err := a.ValueForProtocol(code)
	return err == nil
}

// testLogger writes the client's log to the test log, so a failing test
// shows what the client did.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// recorder is a slog.Handler that keeps every record, for tests that check
// what was logged and how loudly. It also forwards to the test log.
type recorder struct {
	mu      *sync.Mutex
	records *[]logRecord
	attrs   []slog.Attr
	next    slog.Handler
}

type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{
		mu:      new(sync.Mutex),
		records: new([]logRecord),
		next:    slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}),
	}
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(ctx context.Context, rec slog.Record) error {
	lr := logRecord{level: rec.Level, msg: rec.Message, attrs: map[string]string{}}
	for _, a := range r.attrs {
		lr.attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		lr.attrs[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	*r.records = append(*r.records, lr)
	r.mu.Unlock()
	if r.next.Enabled(ctx, rec.Level) {
		return r.next.Handle(ctx, rec)
	}
	return nil
}

func (r *recorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *r
	c.attrs = append(append([]slog.Attr(nil), r.attrs...), attrs...)
	c.next = r.next.WithAttrs(attrs)
	return &c
}

func (r *recorder) WithGroup(name string) slog.Handler {
	c := *r
	c.next = r.next.WithGroup(name)
	return &c
}

// count returns how many records at level have msg.
func (r *recorder) count(level slog.Level, msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range *r.records {
		if rec.level == level && rec.msg == msg {
			n++
		}
	}
	return n
}

func (r *recorder) dump() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, rec := range *r.records {
		fmt.Fprintf(&b, "%s %s %v\n", rec.level, rec.msg, rec.attrs)
	}
	return b.String()
}

// parseConfig turns the configuration's strings into a Config with the
// config package's parsers (internal/p2pconf does the same outside this
// package; importing it here would be a cycle).
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
	return Config{Listen: listen, Seeds: seeds, Blocked: blocked, Allowed: allowed, MaxPeers: cfg.MaxPeers}, nil
}
