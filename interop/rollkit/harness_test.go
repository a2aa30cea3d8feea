package rollkit

// The test harness: the headersync binary (built once per test binary run and
// driven as a child process), in-process rollkit v0.13.7 nodes (p2p client and
// header or block sync service), a rollkit chain builder, and log capture.
// Every wait polls with a bounded deadline; every node and process is stopped
// by t.Cleanup (or b.Cleanup).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cmlog "github.com/cometbft/cometbft/libs/log"
	cmtypes "github.com/cometbft/cometbft/types"
	ds "github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/rollkit/rollkit/block"
	"github.com/rollkit/rollkit/config"
	"github.com/rollkit/rollkit/p2p"
	"github.com/rollkit/rollkit/store"
	"github.com/rollkit/rollkit/types"
)

const (
	// testChainID is the chain every test runs.
	testChainID = "interop-chain"
	// pollInterval is how often a wait re-checks its condition.
	pollInterval = 50 * time.Millisecond
	// hsBlockTime is the block time given to every node.
	hsBlockTime = time.Second
)

// ---------------------------------------------------------------------------
// TestMain and the headersync binary

var (
	// binDir is the temporary directory TestMain owns; the binary goes there.
	binDir string

	hsBuildOnce sync.Once
	hsBinary    string
	hsBuildErr  error
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "headersync-interop-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop: temp dir for the headersync binary:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	return m.Run()
}

// repoRoot is the headersync repository root, two levels above this module.
func repoRoot() (string, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", fmt.Errorf("repository root: %w", err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "headersync")); err != nil {
		return "", fmt.Errorf("repository root %s has no cmd/headersync: %w", root, err)
	}
	return root, nil
}

// headersyncBinary builds ./cmd/headersync once per test binary run and
// returns its path; every caller after the first gets the same result.
func headersyncBinary(tb testing.TB) string {
	tb.Helper()
	hsBuildOnce.Do(func() {
		hsBinary, hsBuildErr = buildHeadersync()
	})
	if hsBuildErr != nil {
		tb.Fatalf("build headersync: %v", hsBuildErr)
	}
	return hsBinary
}

func buildHeadersync() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(binDir, "headersync")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/headersync")
	cmd.Dir = root
	cmd.Env = buildEnv()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/headersync in %s: %w\n%s", root, err, b)
	}
	return out, nil
}

// buildEnv is the environment for building headersync: this module's
// -mod=mod (handy while adding rollkit's dependencies) must not leak into the
// root module's build, which would rewrite its go.mod.
func buildEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GOFLAGS=") {
			var keep []string
			for _, f := range strings.Fields(strings.TrimPrefix(kv, "GOFLAGS=")) {
				if !strings.HasPrefix(f, "-mod=") {
					keep = append(keep, f)
				}
			}
			kv = "GOFLAGS=" + strings.Join(keep, " ")
		}
		env = append(env, kv)
	}
	return env
}

// ---------------------------------------------------------------------------
// Small helpers

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail returns at most the last n bytes of the buffer, cut at a line start.
func (b *syncBuffer) tail(n int) string {
	s := b.String()
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "[...]\n" + s
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		tb.Fatalf("free port: close listener: %v", err)
	}
	return port
}

// waitFor polls cond every pollInterval until it returns true or timeout
// passes; then it fails the test with what cond last said.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last string
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s; last: %s", timeout, what, last)
		}
		<-tick.C
	}
}

// ---------------------------------------------------------------------------
// Chain builder: rollkit blocks (and so signed headers) made with rollkit's
// own types, linked as rollkit's sequencer links them.

type chain struct {
	genesis     *cmtypes.GenesisDoc
	genesisFile string
	key         ed25519.PrivKey
	otherKey    ed25519.PrivKey
	state       types.State
	blocks      []*types.Block // blocks[i] is at height InitialHeight+i
}

// newChain makes a new chain with a fresh sequencer key and writes its
// genesis.json (GenesisDoc.SaveAs, as rollkit does) into a temp dir.
func newChain(tb testing.TB) *chain {
	tb.Helper()
	key := ed25519.GenPrivKey()
	pub := key.PubKey()
	gen := &cmtypes.GenesisDoc{
		ChainID:       testChainID,
		InitialHeight: 1,
		GenesisTime:   time.Now().Add(-time.Hour).UTC().Truncate(time.Second),
		Validators: []cmtypes.GenesisValidator{{
			Address: pub.Address(),
			PubKey:  pub,
			Power:   1,
			Name:    "sequencer",
		}},
	}
	file := filepath.Join(tb.TempDir(), "genesis.json")
	if err := gen.SaveAs(file); err != nil {
		tb.Fatalf("save genesis: %v", err)
	}
	gcopy := *gen // NewFromGenesisDoc completes (mutates) the document
	state, err := types.NewFromGenesisDoc(&gcopy)
	if err != nil {
		tb.Fatalf("state from genesis: %v", err)
	}
	return &chain{genesis: gen, genesisFile: file, key: key, otherKey: ed25519.GenPrivKey(), state: state}
}

func (c *chain) height() uint64 {
	return uint64(c.genesis.InitialHeight) + uint64(len(c.blocks)) - 1
}

func (c *chain) block(height uint64) *types.Block {
	return c.blocks[height-uint64(c.genesis.InitialHeight)]
}

func (c *chain) header(height uint64) *types.SignedHeader {
	return &c.block(height).SignedHeader
}

// extend appends n blocks one block time apart, the last stamped end (times
// are moved later where needed to stay after the current head). Realistic
// spacing matters: go-header's syncer only asks its peers for their head when
// its own is older than two block times.
func (c *chain) extend(tb testing.TB, n int, end time.Time) {
	tb.Helper()
	for i := 0; i < n; i++ {
		c.appendAt(tb, end.Add(-time.Duration(n-1-i)*hsBlockTime))
	}
}

// appendAt appends one block stamped t, moved to 1µs after the head when t
// is not after it, so times strictly increase.
func (c *chain) appendAt(tb testing.TB, t time.Time) *types.Block {
	tb.Helper()
	height := uint64(c.genesis.InitialHeight) + uint64(len(c.blocks))
	lastSig := types.Signature{}
	var lastHash types.Hash
	if len(c.blocks) > 0 {
		last := c.blocks[len(c.blocks)-1]
		lastSig = last.SignedHeader.Signature
		lastHash = last.Hash()
		if lt := last.SignedHeader.Time(); !t.After(lt) {
			t = lt.Add(time.Microsecond)
		}
	}
	proposer := c.state.Validators.Proposer.Address.Bytes()
	b := &types.Block{
		SignedHeader: types.SignedHeader{
			Header: types.Header{
				Version: types.Version{
					Block: c.state.Version.Consensus.Block,
					App:   c.state.Version.Consensus.App,
				},
				BaseHeader: types.BaseHeader{
					ChainID: c.genesis.ChainID,
					Height:  height,
					Time:    uint64(t.UnixNano()),
				},
				ConsensusHash:   make(types.Hash, 32),
				AppHash:         make(types.Hash, 32),
				LastResultsHash: make(types.Hash, 32),
				ProposerAddress: proposer,
			},
		},
		Data: types.Data{Txs: types.Txs{types.Tx(fmt.Sprintf("tx-%d", height))}},
	}
	b.SignedHeader.LastCommitHash = lastSig.GetCommitHash(&b.SignedHeader.Header, proposer)
	b.SignedHeader.LastHeaderHash = lastHash
	dataHash, err := b.Data.Hash()
	if err != nil {
		tb.Fatalf("data hash at %d: %v", height, err)
	}
	b.SignedHeader.DataHash = dataHash
	b.SignedHeader.Validators = c.state.Validators
	b.SignedHeader.ValidatorHash = c.state.Validators.Hash()
	sig, err := types.GetSignature(b.SignedHeader.Header, c.key)
	if err != nil {
		tb.Fatalf("sign %d: %v", height, err)
	}
	b.SignedHeader.Signature = *sig
	c.blocks = append(c.blocks, b)
	return b
}

// appendBadSignature appends a block stamped t that links like any other but
// whose header is signed by a key that is not the sequencer's.
func (c *chain) appendBadSignature(tb testing.TB, t time.Time) *types.Block {
	tb.Helper()
	b := c.appendAt(tb, t)
	sig, err := types.GetSignature(b.SignedHeader.Header, c.otherKey)
	if err != nil {
		tb.Fatalf("sign %d with the other key: %v", b.Height(), err)
	}
	b.SignedHeader.Signature = *sig
	if err := b.SignedHeader.ValidateBasic(); !errors.Is(err, types.ErrSignatureVerificationFailed) {
		tb.Fatalf("header %d signed by another key: ValidateBasic = %v, want %v", b.Height(), err, types.ErrSignatureVerificationFailed)
	}
	return b
}

func hexHash(h types.Hash) string { return hex.EncodeToString(h) }

// ---------------------------------------------------------------------------
// rollkit nodes, in process

// rkServices says which sync services a rollkit node runs.
type rkServices int

const (
	rkHeaders rkServices = 1 << iota // block.HeaderSyncService
	rkBlocks                         // block.BlockSyncService
)

type rkOptions struct {
	services   rkServices // zero means rkHeaders
	aggregator bool
	seeds      []string // multiaddrs with /p2p/<id>
	blocked    []string // multiaddrs with /p2p/<id> its connection gater refuses
	genesis    *cmtypes.GenesisDoc
	name       string // for logs
}

// rkNode is a rollkit p2p client with its header and/or block sync service,
// wired as rollkit's full node wires them (node/full.go).
type rkNode struct {
	tb     testing.TB
	name   string
	id     peer.ID
	addr   string // /ip4/127.0.0.1/tcp/P/p2p/ID
	kv     ds.TxnDatastore
	client *p2p.Client
	hss    *block.HeaderSyncService
	bss    *block.BlockSyncService
	logs   *syncBuffer

	stopOnce sync.Once
}

// startRollkit starts a rollkit node on 127.0.0.1. A non-aggregator node's
// Start fetches the header (or block) at InitialHeight from its seeds, as
// rollkit's does, so the seeds must have it.
func startRollkit(tb testing.TB, opt rkOptions) *rkNode {
	tb.Helper()
	n, err := newRollkit(tb, opt)
	if err != nil {
		tb.Fatalf("rollkit node %s: %v", opt.name, err)
	}
	return n
}

func newRollkit(tb testing.TB, opt rkOptions) (*rkNode, error) {
	n := &rkNode{tb: tb, name: opt.name, logs: &syncBuffer{}}
	logger := cmlog.NewFilter(cmlog.NewTMLogger(cmlog.NewSyncWriter(n.logs)), cmlog.AllowInfo()).
		With("node", opt.name)

	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("libp2p key: %w", err)
	}
	if n.id, err = peer.IDFromPrivateKey(key); err != nil {
		return nil, fmt.Errorf("peer id: %w", err)
	}
	if n.kv, err = store.NewDefaultInMemoryKVStore(); err != nil {
		return nil, fmt.Errorf("in-memory datastore: %w", err)
	}
	tb.Cleanup(n.stop)

	conf := config.NodeConfig{
		Aggregator:         opt.aggregator,
		BlockManagerConfig: config.BlockManagerConfig{BlockTime: hsBlockTime},
		P2P: config.P2PConfig{
			ListenAddress: "/ip4/127.0.0.1/tcp/0",
			Seeds:         strings.Join(opt.seeds, ","),
			BlockedPeers:  strings.Join(opt.blocked, ","),
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	n.client, err = p2p.NewClient(conf.P2P, key, opt.genesis.ChainID, n.kv, logger.With("module", "p2p"), p2p.NopMetrics())
	if err != nil {
		return nil, fmt.Errorf("p2p client: %w", err)
	}
	// The client keeps the context for its DHT and discovery: give it one
	// that lives until stop.
	if err := n.client.Start(context.Background()); err != nil {
		return nil, fmt.Errorf("start p2p client: %w", err)
	}
	for _, a := range n.client.Addrs() {
		if s := a.String(); strings.HasPrefix(s, "/ip4/127.0.0.1/tcp/") {
			n.addr = s + "/p2p/" + n.id.String()
			break
		}
	}
	if n.addr == "" {
		return nil, fmt.Errorf("no 127.0.0.1 tcp address among %v", n.client.Addrs())
	}

	// rollkit's sync service asks its seeds for the header at InitialHeight
	// as it starts and fails if they cannot be reached yet (its p2p client
	// dials them in the background): wait for the connections first.
	if err := waitConnected(ctx, n.client, opt.seeds); err != nil {
		return nil, err
	}

	if opt.services == 0 {
		opt.services = rkHeaders
	}
	if opt.services&rkHeaders != 0 {
		svc, err := block.NewHeaderSyncService(n.kv, conf, opt.genesis, n.client, logger.With("module", "HeaderSyncService"))
		if err != nil {
			return nil, fmt.Errorf("header sync service: %w", err)
		}
		n.hss = svc // set first: a Start that fails half-way is stopped too
		if err := svc.Start(ctx); err != nil {
			return nil, fmt.Errorf("start header sync service: %w", err)
		}
	}
	if opt.services&rkBlocks != 0 {
		svc, err := block.NewBlockSyncService(n.kv, conf, opt.genesis, n.client, logger.With("module", "BlockSyncService"))
		if err != nil {
			return nil, fmt.Errorf("block sync service: %w", err)
		}
		n.bss = svc
		if err := svc.Start(ctx); err != nil {
			return nil, fmt.Errorf("start block sync service: %w", err)
		}
	}
	return n, nil
}

// stopService calls a rollkit SyncService's Stop, which dereferences parts
// that a Start failing early never made: such a panic becomes an error.
func stopService(ctx context.Context, stop func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("stop of a half-started sync service: %v", r)
		}
	}()
	return stop(ctx)
}

// quietStopErrors drops what rollkit v0.13.7's SyncService.Stop and
// p2p.Client.Close always return: go-header's subscriber cannot close its
// topic because the sync service never cancels the subscription it opened in
// Start ("cannot close topic: outstanding event handlers or subscriptions"),
// and the exchange, the DHT and the tx gossiper report their own cancelled
// contexts.
func quietStopErrors(err error) error {
	if err == nil {
		return nil
	}
	var keep []error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, sub := range j.Unwrap() {
				walk(sub)
			}
			return
		}
		if e == nil || errors.Is(e, context.Canceled) ||
			strings.Contains(e.Error(), "outstanding event handlers or subscriptions") {
			return
		}
		keep = append(keep, e)
	}
	walk(err)
	return errors.Join(keep...)
}

// waitConnected polls until client is connected to every seed.
func waitConnected(ctx context.Context, client *p2p.Client, seeds []string) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for _, s := range seeds {
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			return fmt.Errorf("seed %q: %w", s, err)
		}
		info, err := peer.AddrInfoFromP2pAddr(m)
		if err != nil {
			return fmt.Errorf("seed %q: %w", s, err)
		}
		for client.Host().Network().Connectedness(info.ID) != network.Connected {
			select {
			case <-ctx.Done():
				return fmt.Errorf("connect to seed %s: %w", s, ctx.Err())
			case <-tick.C:
			}
		}
	}
	return nil
}

// stop stops the sync service, the p2p client and the datastore; it is
// idempotent and registered as a cleanup.
func (n *rkNode) stop() {
	n.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var errs []error
		if n.hss != nil {
			errs = append(errs, quietStopErrors(stopService(ctx, n.hss.Stop)))
		}
		if n.bss != nil {
			errs = append(errs, quietStopErrors(stopService(ctx, n.bss.Stop)))
		}
		if n.client != nil {
			errs = append(errs, quietStopErrors(n.client.Close()))
		}
		if n.kv != nil {
			errs = append(errs, n.kv.Close())
		}
		if err := errors.Join(errs...); err != nil {
			n.tb.Logf("rollkit node %s: stop: %v", n.name, err)
		}
		if n.tb.Failed() {
			n.tb.Logf("rollkit node %s logs:\n%s", n.name, n.logs.tail(32<<10))
		}
	})
}

// height is the height of the node's header store, or of its block store
// when it runs no header sync, or the lower of the two when it runs both.
func (n *rkNode) height() uint64 {
	switch {
	case n.hss != nil && n.bss != nil:
		return min(n.hss.Store().Height(), n.bss.Store().Height())
	case n.hss != nil:
		return n.hss.Store().Height()
	default:
		return n.bss.Store().Height()
	}
}

// hashAt is the hash of the header the node stores at height (of the block,
// when it runs no header sync).
func (n *rkNode) hashAt(ctx context.Context, height uint64) (types.Hash, error) {
	if n.hss != nil {
		h, err := n.hss.Store().GetByHeight(ctx, height)
		if err != nil {
			return nil, fmt.Errorf("%s: header %d: %w", n.name, height, err)
		}
		return h.Hash(), nil
	}
	b, err := n.bss.Store().GetByHeight(ctx, height)
	if err != nil {
		return nil, fmt.Errorf("%s: block %d: %w", n.name, height, err)
	}
	return b.Hash(), nil
}

// signedHeader is the header the node stores at height.
func (n *rkNode) signedHeader(ctx context.Context, height uint64) (*types.SignedHeader, error) {
	h, err := n.hss.Store().GetByHeight(ctx, height)
	if err != nil {
		return nil, fmt.Errorf("%s: header %d: %w", n.name, height, err)
	}
	return h, nil
}

// publish writes blocks [from, to] of c to the node's stores and broadcasts
// them (the header to the header-sync topic, the block to the block-sync
// topic), as rollkit's block manager does for each block it produces, and
// waits until the node's own stores hold them.
func (n *rkNode) publish(tb testing.TB, c *chain, from, to uint64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for h := from; h <= to; h++ {
		if n.hss != nil {
			if err := n.hss.WriteToStoreAndBroadcast(ctx, c.header(h)); err != nil {
				tb.Fatalf("%s: write and broadcast header %d: %v", n.name, h, err)
			}
		}
		if n.bss != nil {
			if err := n.bss.WriteToStoreAndBroadcast(ctx, c.block(h)); err != nil {
				tb.Fatalf("%s: write and broadcast block %d: %v", n.name, h, err)
			}
		}
	}
	// The go-header store writes in the background: its height catches up
	// with what was appended a moment later.
	n.waitHeight(tb, to, 30*time.Second)
}

// headerTopic and blockTopic are the gossip topics of rollkit's sync services.
func headerTopic() string { return fmt.Sprintf("/%s-headerSync/header-sub/v0.0.1", testChainID) }
func blockTopic() string  { return fmt.Sprintf("/%s-blockSync/header-sub/v0.0.1", testChainID) }

// waitMeshPeer waits until id is in the node's gossipsub mesh for topic.
// Before then, what the node publishes does not reach id: gossipsub publishes
// to the topic's mesh only (rollkit does not turn on flood publishing), and a
// message published into an empty mesh is lost for good. rollkit's syncer
// does not poll for heads, so only the next gossip message would close such a
// gap. Gossipsub protects mesh peers in the connection manager with the tag
// "pubsub:<topic>", which is what this polls.
func (n *rkNode) waitMeshPeer(tb testing.TB, topic string, id peer.ID, timeout time.Duration) {
	tb.Helper()
	tag := "pubsub:" + topic
	waitFor(tb, timeout, fmt.Sprintf("rollkit %s to graft %s into its %s mesh", n.name, id, topic), func() (bool, string) {
		if n.client.Host().ConnManager().IsProtected(id, tag) {
			return true, ""
		}
		return false, fmt.Sprintf("topic peers %v", n.client.PubSub().ListPeers(topic))
	})
}

// waitHeight waits until the node stores height h (in every store it runs).
func (n *rkNode) waitHeight(tb testing.TB, h uint64, timeout time.Duration) {
	tb.Helper()
	waitFor(tb, timeout, fmt.Sprintf("rollkit %s at height %d", n.name, h), func() (bool, string) {
		got := n.height()
		return got >= h, fmt.Sprintf("height %d", got)
	})
}

// ---------------------------------------------------------------------------
// headersync nodes, as child processes

type hsOptions struct {
	role    string // light or full
	genesis string // genesis.json path
	seeds   []string
	name    string
	extra   []string // more start flags
}

type hsNode struct {
	name    string
	home    string
	id      peer.ID
	seeds   []string
	extra   []string
	p2pAddr string // /ip4/127.0.0.1/tcp/P/p2p/ID
	api     string // http://127.0.0.1:P
	http    *http.Client

	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{} // closed when the process has been waited for
	waited error
}

// runHeadersync runs a short headersync command and returns its stdout.
func runHeadersync(tb testing.TB, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, headersyncBinary(tb), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("headersync %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// startHeadersync initialises a headersync home in rollkit format and starts
// the node on loopback; it returns once the API answers /healthz.
func startHeadersync(tb testing.TB, opt hsOptions) *hsNode {
	tb.Helper()
	n := initHeadersync(tb, opt)
	n.start(tb)
	return n
}

// initHeadersync runs headersync init (rollkit format) and node-id.
func initHeadersync(tb testing.TB, opt hsOptions) *hsNode {
	tb.Helper()
	n := &hsNode{
		name:   opt.name,
		seeds:  opt.seeds,
		extra:  opt.extra,
		home:   filepath.Join(tb.TempDir(), "home"),
		stderr: &syncBuffer{},
		done:   make(chan struct{}),
		http:   &http.Client{Timeout: 5 * time.Second},
	}
	runHeadersync(tb, "init", "--home", n.home, "--role", opt.role, "--format", "rollkit-v0.13", "--genesis", opt.genesis)
	idText := strings.TrimSpace(runHeadersync(tb, "node-id", "--home", n.home))
	id, err := peer.Decode(idText)
	if err != nil {
		tb.Fatalf("headersync node-id printed %q: %v", idText, err)
	}
	n.id = id
	return n
}

// start starts the initialised node and waits for its API.
func (n *hsNode) start(tb testing.TB) {
	tb.Helper()
	bin := headersyncBinary(tb)
	p2pPort, apiPort := freePort(tb), freePort(tb)
	listen := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", p2pPort)
	n.p2pAddr = listen + "/p2p/" + n.id.String()
	n.api = fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	args := []string{"start", "--home", n.home,
		"--p2p.listen", listen,
		"--api.listen", fmt.Sprintf("127.0.0.1:%d", apiPort),
		"--block-time", hsBlockTime.String(),
	}
	if len(n.seeds) > 0 {
		args = append(args, "--p2p.seeds", strings.Join(n.seeds, ","))
	}
	args = append(args, n.extra...)
	n.cmd = exec.Command(bin, args...)
	n.cmd.Stdout = n.stderr
	n.cmd.Stderr = n.stderr
	if err := n.cmd.Start(); err != nil {
		tb.Fatalf("start headersync %s: %v", n.name, err)
	}
	go func() {
		n.waited = n.cmd.Wait()
		close(n.done)
	}()
	tb.Cleanup(func() {
		n.stop(tb)
		if tb.Failed() {
			tb.Logf("headersync %s (%s) output:\n%s", n.name, n.id, n.stderr.tail(64<<10))
		}
	})

	waitFor(tb, 20*time.Second, fmt.Sprintf("headersync %s API", n.name), func() (bool, string) {
		select {
		case <-n.done:
			tb.Fatalf("headersync %s exited during start: %v\n%s", n.name, n.waited, n.stderr.tail(16<<10))
		default:
		}
		resp, err := n.http.Get(n.api + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode == http.StatusOK, resp.Status
	})
}

// stop sends SIGTERM and waits for the process (SIGKILL after 15 s).
func (n *hsNode) stop(tb testing.TB) {
	select {
	case <-n.done:
		return
	default:
	}
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Logf("headersync %s: SIGTERM: %v", n.name, err)
	}
	select {
	case <-n.done:
		if n.waited != nil {
			tb.Logf("headersync %s: exit after SIGTERM: %v", n.name, n.waited)
		}
	case <-time.After(15 * time.Second):
		tb.Errorf("headersync %s did not exit within 15s of SIGTERM; killing it", n.name)
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

type hsStatus struct {
	Headers struct {
		Height   uint64 `json:"height"`
		HeadHash string `json:"head_hash"`
	} `json:"headers"`
	Blocks *struct {
		Height   uint64 `json:"height"`
		HeadHash string `json:"head_hash"`
	} `json:"blocks"`
	Peers []struct {
		ID string `json:"id"`
	} `json:"peers"`
}

// connectedTo reports whether the node lists id among its peers.
func (n *hsNode) connectedTo(id peer.ID) bool {
	st, err := n.status()
	if err != nil {
		return false
	}
	for _, p := range st.Peers {
		if p.ID == id.String() {
			return true
		}
	}
	return false
}

func (n *hsNode) getJSON(path string, v any) (found bool, err error) {
	resp, err := n.http.Get(n.api + path)
	if err != nil {
		return false, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, fmt.Errorf("GET %s: read body: %w", path, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return false, nil
	default:
		return false, fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(body))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return false, fmt.Errorf("GET %s: decode %q: %w", path, body, err)
	}
	return true, nil
}

func (n *hsNode) status() (hsStatus, error) {
	var s hsStatus
	found, err := n.getJSON("/status", &s)
	if err == nil && !found {
		err = errors.New("GET /status: 404")
	}
	return s, err
}

// hashAt is the lower-hex hash headersync stores at height ("" when it has
// none). kind is "headers" or "blocks".
func (n *hsNode) hashAt(kind string, height uint64) (string, error) {
	// GET /headers/{h} is a header with its "hash"; GET /blocks/{h} is a
	// block whose "header" has it.
	var v struct {
		Hash   string `json:"hash"`
		Header struct {
			Hash string `json:"hash"`
		} `json:"header"`
	}
	found, err := n.getJSON(fmt.Sprintf("/%s/%d", kind, height), &v)
	if err != nil || !found {
		return "", err
	}
	if v.Hash != "" {
		return v.Hash, nil
	}
	return v.Header.Hash, nil
}

// blockTxs is the transactions of the block headersync stores at height.
func (n *hsNode) blockTxs(height uint64) ([][]byte, error) {
	var v struct {
		Txs [][]byte `json:"txs"`
	}
	found, err := n.getJSON(fmt.Sprintf("/blocks/%d", height), &v)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("GET /blocks/%d: 404", height)
	}
	return v.Txs, nil
}

// waitHeight waits until headersync's header store reaches h.
func (n *hsNode) waitHeight(tb testing.TB, h uint64, timeout time.Duration) {
	tb.Helper()
	waitFor(tb, timeout, fmt.Sprintf("headersync %s headers at height %d", n.name, h), func() (bool, string) {
		n.checkRunning(tb)
		s, err := n.status()
		if err != nil {
			return false, err.Error()
		}
		return s.Headers.Height >= h, fmt.Sprintf("height %d", s.Headers.Height)
	})
}

// waitBlockHeight waits until headersync's block store reaches h.
func (n *hsNode) waitBlockHeight(tb testing.TB, h uint64, timeout time.Duration) {
	tb.Helper()
	waitFor(tb, timeout, fmt.Sprintf("headersync %s blocks at height %d", n.name, h), func() (bool, string) {
		n.checkRunning(tb)
		s, err := n.status()
		if err != nil {
			return false, err.Error()
		}
		if s.Blocks == nil {
			return false, "no blocks in /status"
		}
		return s.Blocks.Height >= h, fmt.Sprintf("height %d", s.Blocks.Height)
	})
}

func (n *hsNode) checkRunning(tb testing.TB) {
	tb.Helper()
	select {
	case <-n.done:
		tb.Fatalf("headersync %s exited: %v", n.name, n.waited)
	default:
	}
}

// logs is everything headersync has written so far.
func (n *hsNode) logs() string { return n.stderr.String() }

// bannedPeer returns the line in which headersync logged that it banned id
// ("" when it has not).
func (n *hsNode) bannedPeer(id peer.ID) string {
	for _, line := range strings.Split(n.logs(), "\n") {
		if strings.Contains(line, `msg="banned peer"`) && strings.Contains(line, "peer="+id.String()) {
			return line
		}
	}
	return ""
}

// ---------------------------------------------------------------------------
// Checks shared by the tests

// requireSameHashes checks that headersync stores, at each height, the hash
// rollkit's chain has there.
func requireSameHashes(tb testing.TB, hs *hsNode, kind string, c *chain, heights ...uint64) {
	tb.Helper()
	for _, h := range heights {
		got, err := hs.hashAt(kind, h)
		if err != nil {
			tb.Fatalf("headersync %s %s %d: %v", hs.name, kind, h, err)
		}
		if want := hexHash(c.header(h).Hash()); got != want {
			tb.Fatalf("headersync %s %s %d: hash %q, rollkit's is %q", hs.name, kind, h, got, want)
		}
	}
}

// requireRollkitHashes checks that a rollkit node stores c's hash at every
// height in [from, to].
func requireRollkitHashes(tb testing.TB, n *rkNode, c *chain, from, to uint64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for h := from; h <= to; h++ {
		got, err := n.hashAt(ctx, h)
		if err != nil {
			tb.Fatalf("%v", err)
		}
		if want := c.header(h).Hash(); !bytes.Equal(got, want) {
			tb.Fatalf("rollkit %s at %d: hash %X, chain's is %X", n.name, h, got, want)
		}
	}
}
