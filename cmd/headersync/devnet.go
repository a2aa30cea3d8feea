package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/testnet"
	"github.com/headersync/headersync/types"
)

// maxDevnetNodes bounds the nodes of one devnet process.
const maxDevnetNodes = 64

// chainIDFlag checks --chain-id as config checks chain_id.
func chainIDFlag(v string) error {
	if err := types.ValidateChainID(v); err != nil {
		return &config.FieldError{Field: "--chain-id", Value: v, Err: err}
	}
	return nil
}

func newDevnetCmd() *cobra.Command {
	var (
		home        string
		full, light int
		lightRetain int64
		blockTime   time.Duration
		apiPortBase int
		chainID     string
		logLevel    string
		duration    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "devnet [--home DIR] [--full N] [--light N] [--light-retain N] [--block-time DUR] [--api-port-base P]",
		Short: "Run a sequencer, full and light nodes on loopback in one process",
		Long: `Run a whole network on 127.0.0.1: a sequencer, --full full nodes seeded by
it and --light light nodes seeded by the first full node, each with its own
home and datastore. Prints each node's role, peer ID and API URL, then one
progress line per second with every node's height. Ctrl-C stops all nodes.

With --light-retain N the light nodes start at the network head
(sync_from = "head") and keep only the last N headers (retain_headers = N);
0, the default, runs them as their config.toml says (from a new home:
from genesis, keeping everything).

Without --home the network lives in a temporary directory removed at exit;
with --home it is kept, and running devnet again on it resumes the chain.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := firstError(
				intAtLeast("full", full, 0),
				intAtLeast("light", light, 0),
				// Every node is a libp2p host, a DHT and a pebble store in
				// this one process: far beyond a few dozen the process runs
				// out of something (descriptors, ports) and fails with an
				// error about that instead of the count.
				intAtMost("light", light, maxDevnetNodes-1),
				intAtMost("full", full, maxDevnetNodes-1-light),
				retainFlag("light-retain", lightRetain),
				config.ValidateBlockTime("--block-time", blockTime),
				intAtLeast("api-port-base", apiPortBase, 0),
				intAtMost("api-port-base", apiPortBase, 65535-full-light),
				chainIDFlag(chainID),
				logLevelFlag(logLevel),
				durationNotNegative("duration", duration, "until Ctrl-C"),
			); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			dir := home
			if dir == "" {
				tmp, err := os.MkdirTemp("", "headersync-devnet-")
				if err != nil {
					return fmt.Errorf("create devnet home: %w", err)
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			}
			logger, err := newLogger(config.LogConfig{Level: logLevel, Format: "text"}, cmd.ErrOrStderr())
			if err != nil {
				return err
			}

			// SIGPIPE too: a devnet piped into head is killed by it when
			// head exits, which would leave the temporary home behind.
			// Caught, it ends the run like Ctrl-C and the writes to the
			// closed pipe fail harmlessly.
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE)
			defer stop()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			net, err := testnet.Start(ctx, testnet.Options{
				Dir: dir, ChainID: chainID, Full: full, Light: light, BlockTime: blockTime,
				APIPortBase: apiPortBase, Logger: logger,
				Configure: lightWindow(uint64(lightRetain)),
			})
			if err != nil {
				return err
			}
			// A home created before keeps its chain: say which one runs,
			// and refuse an explicit --chain-id that is not it.
			if running := net.Genesis.ChainID; running != chainID && cmd.Flags().Changed("chain-id") {
				stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
				defer cancel()
				return errors.Join(&config.FieldError{Field: "--chain-id", Value: chainID,
					Expected: fmt.Sprintf("%s, the chain of the devnet in %s (or another --home)", running, dir)}, net.Stop(stopCtx))
			}
			fmt.Fprintf(out, "devnet: chain %s, %d nodes, homes in %s\n", net.Genesis.ChainID, len(net.Members), dir)
			for _, m := range net.Members {
				fmt.Fprintf(out, "  %-10s %-9s %s  %s%s\n", m.Name, m.Role, m.Node.P2P().ID(), m.APIURL(), devnetWindowNote(m.Role, uint64(lightRetain)))
			}
			fmt.Fprintln(out, "progress every second (headers, /blocks for full nodes; base..head for a window); Ctrl-C stops")

			reportProgress(ctx, out, net)
			stop()
			fmt.Fprintln(out, "devnet: stopping")
			stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
			defer cancel()
			if err := net.Stop(stopCtx); err != nil {
				return err
			}
			fmt.Fprintln(out, "devnet: stopped")
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&home, "home", "", "directory for the node homes (default: a temporary one)")
	fs.IntVar(&full, "full", 1, "number of full nodes")
	fs.IntVar(&light, "light", 1, "number of light nodes")
	fs.Int64Var(&lightRetain, "light-retain", 0, "light nodes start at the network head and keep this many headers (0: as configured, by default from genesis, keeping all)")
	fs.DurationVar(&blockTime, "block-time", time.Second, "block interval")
	fs.IntVar(&apiPortBase, "api-port-base", 0, "API port of the sequencer; the others follow (default: free ports)")
	fs.StringVar(&chainID, "chain-id", "devnet", "chain ID")
	fs.StringVar(&logLevel, "log.level", "warn", "log level of the nodes: debug, info, warn or error")
	fs.DurationVar(&duration, "duration", 0, "stop after this long (default: run until Ctrl-C)")
	return cmd
}

// lightWindow makes the devnet's light nodes start at the network head and
// keep the last retain headers; 0 leaves every node as configured. It
// applies at each start, so a kept --home follows the flag of the run.
func lightWindow(retain uint64) func(*testnet.Network, *testnet.Member, *config.NodeConfig) {
	if retain == 0 {
		return nil
	}
	return func(_ *testnet.Network, m *testnet.Member, cfg *config.NodeConfig) {
		if m.Role == config.RoleLight {
			cfg.SyncFrom, cfg.RetainHeaders = config.SyncFromHead, retain
		}
	}
}

// devnetWindowNote is what the startup listing adds to a node's line for the
// setting lightWindow applies: nothing unless it is windowed.
func devnetWindowNote(r config.Role, retain uint64) string {
	if retain == 0 || r != config.RoleLight {
		return ""
	}
	return fmt.Sprintf("  sync_from=head retain_headers=%d", retain)
}

// heights shows a store's height, and its base too when the store does not
// begin at the genesis height (a window, or a start from the head):
// "120", or "101..120".
func heights(base, height, initial uint64) string {
	if base <= initial || height == 0 {
		return strconv.FormatUint(height, 10)
	}
	return fmt.Sprintf("%d..%d", base, height)
}

// reportProgress prints every node's height once a second until ctx ends,
// with its base where the store does not begin at genesis.
func reportProgress(ctx context.Context, out io.Writer, net *testnet.Network) {
	start := time.Now()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var b strings.Builder
		fmt.Fprintf(&b, "t=%3ds", int(time.Since(start).Seconds()))
		for _, m := range net.Members {
			fmt.Fprintf(&b, "  %s=%s", m.Name, heights(m.Node.Headers().Base(), m.Node.Headers().Height(), net.Genesis.InitialHeight))
			if m.Role == config.RoleFull {
				fmt.Fprintf(&b, "/%d", m.Node.Blocks().Height())
			}
		}
		fmt.Fprintln(out, b.String())
	}
}
