package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/testnet"
)

func newDevnetCmd() *cobra.Command {
	var (
		home        string
		full, light int
		blockTime   time.Duration
		apiPortBase int
		chainID     string
		logLevel    string
		duration    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "devnet [--home DIR] [--full N] [--light N] [--block-time DUR] [--api-port-base P]",
		Short: "Run a sequencer, full and light nodes on loopback in one process",
		Long: `Run a whole network on 127.0.0.1: a sequencer, --full full nodes seeded by
it and --light light nodes seeded by the first full node, each with its own
home and datastore. Prints each node's role, peer ID and API URL, then one
progress line per second with every node's height. Ctrl-C stops all nodes.

Without --home the network lives in a temporary directory removed at exit;
with --home it is kept, and running devnet again on it resumes the chain.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if full < 0 || light < 0 {
				return fmt.Errorf("--full %d --light %d: node counts must be zero or more", full, light)
			}
			if apiPortBase < 0 || apiPortBase+full+light > 65535 {
				return fmt.Errorf("--api-port-base %d: the ports do not fit below 65536", apiPortBase)
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

			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			net, err := testnet.Start(ctx, testnet.Options{
				Dir: dir, ChainID: chainID, Full: full, Light: light, BlockTime: blockTime,
				APIPortBase: apiPortBase, Logger: logger,
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "devnet: chain %s, %d nodes, homes in %s\n", chainID, len(net.Members), dir)
			for _, m := range net.Members {
				fmt.Fprintf(out, "  %-10s %-9s %s  %s\n", m.Name, m.Role, m.Node.P2P().ID(), m.APIURL())
			}
			fmt.Fprintln(out, "progress every second (headers, /blocks for full nodes); Ctrl-C stops")

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
	fs.DurationVar(&blockTime, "block-time", time.Second, "block interval")
	fs.IntVar(&apiPortBase, "api-port-base", 0, "API port of the sequencer; the others follow (default: free ports)")
	fs.StringVar(&chainID, "chain-id", "devnet", "chain ID")
	fs.StringVar(&logLevel, "log.level", "warn", "log level of the nodes: debug, info, warn or error")
	fs.DurationVar(&duration, "duration", 0, "stop after this long (default: run until Ctrl-C)")
	return cmd
}

// reportProgress prints every node's height once a second until ctx ends.
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
			fmt.Fprintf(&b, "  %s=%d", m.Name, m.Node.Headers().Height())
			if m.Role == config.RoleFull {
				fmt.Fprintf(&b, "/%d", m.Node.Blocks().Height())
			}
		}
		fmt.Fprintln(out, b.String())
	}
}
