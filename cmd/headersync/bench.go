package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/bench"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench catchup|gossip|join",
		Short: "Measure catch-up throughput, gossip latency and a light node's join on loopback",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newBenchCatchupCmd(), newBenchGossipCmd(), newBenchJoinCmd())
	return cmd
}

func newBenchCatchupCmd() *cobra.Command {
	var (
		o          bench.CatchupOptions
		cpuprofile string
		logLevel   string
		rtt        string
	)
	cmd := &cobra.Command{
		Use:   "catchup [--headers N] [--peers P] [--store memory|pebble] [--rtt D[,D...]] [--cpuprofile FILE]",
		Short: "Time a fresh node catching up with N headers served by P peers",
		Long: `Build a chain of N signed headers, load it into P serving nodes on 127.0.0.1,
start a fresh node seeded by them and time it from start until its store
head is N. The same run measures ed25519 verifications per second on one
goroutine and on all cores.

--rtt D puts a round trip of D between the fresh node and every serving
node: each is reached through an in-process TCP relay that delays each
direction by D/2 (the nodes then use TCP only). A list, such as
--rtt 20ms,100ms,200ms with --peers 3, gives each serving node its own.

The last line is:

catchup headers=N peers=P store=S rate=<headers/s> verify_1core=<per s> verify_allcores=<per s> ratio_allcores=<rate/verify_allcores> verify_expanded_allcores=<per s> peak_heap_mb=<MiB> rtt_ms=<D[,D...]> steady_rate=<headers/s from 10 % to 90 % of the chain> disk_mb_per_1k=<MiB the syncing node wrote to disk per 1 000 headers: WAL, flushes, compactions> store_mb_per_1k=<its size on disk per 1 000 headers>`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rtts, rttErr := rttFlag(rtt, o.Peers)
			if err := firstError(
				intAtLeast("headers", o.Headers, 2),
				intAtLeast("peers", o.Peers, 1),
				oneOf("store", o.Store, "memory", "pebble"),
				rttErr,
				logLevelFlag(logLevel),
			); err != nil {
				return err
			}
			o.RTT = rtts
			logger, err := newLogger(config.LogConfig{Level: logLevel, Format: "text"}, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			o.Logger = logger
			o.Progress = cmd.ErrOrStderr()
			if cpuprofile != "" {
				f, err := os.Create(cpuprofile)
				if err != nil {
					return fmt.Errorf("cpu profile: %w", err)
				}
				defer f.Close()
				o.CPUProfile = f
			}
			res, err := bench.Catchup(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), res)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&o.Headers, "headers", 50_000, "chain length")
	fs.IntVar(&o.Peers, "peers", 1, "serving nodes")
	fs.StringVar(&o.Store, "store", "pebble", "memory or pebble")
	fs.StringVar(&rtt, "rtt", "0", "round trip to each serving node: one duration, or one per peer comma-separated (0: direct loopback)")
	fs.Uint64Var(&o.RequestSize, "request-size", 0, "headers per range request (0: the node's default)")
	fs.StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the catch-up to FILE")
	fs.StringVar(&logLevel, "log.level", "error", "log level of the nodes")
	return cmd
}

func newBenchGossipCmd() *cobra.Command {
	var (
		o        bench.GossipOptions
		logLevel string
	)
	cmd := &cobra.Command{
		Use:   "gossip [--nodes K] [--block-time D] [--blocks B]",
		Short: "Measure the delay from publishing a header to its arrival in every node's store",
		Long: `Start a sequencer and K-1 nodes on 127.0.0.1, each seeded by the one before
(a line; discovery may add links), publish B headers one block time apart
and record for every node and header the delay from publish to arrival in
the node's store. The last line is:

gossip nodes=K block_time=D p50_ms=<..> p99_ms=<..> max_ms=<..> missed=<count>`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := firstError(
				intAtLeast("nodes", o.Nodes, 2),
				intAtMost("nodes", o.Nodes, maxBenchNodes),
				durationPositive("block-time", o.BlockTime),
				intAtLeast("blocks", o.Blocks, 1),
				logLevelFlag(logLevel),
			); err != nil {
				return err
			}
			logger, err := newLogger(config.LogConfig{Level: logLevel, Format: "text"}, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			o.Logger = logger
			res, err := bench.Gossip(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), res)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&o.Nodes, "nodes", 10, "nodes including the sequencer")
	fs.DurationVar(&o.BlockTime, "block-time", 100*time.Millisecond, "time between published headers")
	fs.IntVar(&o.Blocks, "blocks", 100, "headers to publish")
	fs.StringVar(&logLevel, "log.level", "error", "log level of the nodes")
	return cmd
}

func newBenchJoinCmd() *cobra.Command {
	var (
		o        bench.JoinOptions
		logLevel string
	)
	cmd := &cobra.Command{
		Use:   "join [--headers N] [--retain R] [--follow M] [--rtt D]",
		Short: "Time a fresh light node joining at the network head and filling a window of R headers",
		Long: `Build a chain of N signed headers and load it into a serving node on
127.0.0.1, start a fresh node with sync_from = "head" and retain_headers = R,
and time it until its head is the network head and until it stores the whole
window. With --follow M the serving node then publishes M more headers as
fast as it can; the node follows them by gossip and prunes its window. --rtt
D puts a round trip of D between the two (an in-process delaying relay).

The last line is:

join headers=N retain=R rtt_ms=<D> head_ms=<until the node's head is the network head> window_ms=<until the whole window is stored> store_mb=<live data of its store, from pebble's metrics> [follow=M follow_ms=<..> store_mb_after=<..>]`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := firstError(
				intAtLeast("headers", o.Headers, 2),
				intAtLeast("retain", o.Retain, 1),
				intAtLeast("follow", o.Follow, 0),
				logLevelFlag(logLevel),
			); err != nil {
				return err
			}
			if o.Retain > o.Headers {
				return fmt.Errorf("--retain %d: expected at most --headers (%d)", o.Retain, o.Headers)
			}
			if o.RTT < 0 {
				return fmt.Errorf("--rtt %s: expected zero or more", o.RTT)
			}
			logger, err := newLogger(config.LogConfig{Level: logLevel, Format: "text"}, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			o.Logger = logger
			o.Progress = cmd.ErrOrStderr()
			res, err := bench.Join(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), res)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&o.Headers, "headers", 1_000_000, "chain length")
	fs.IntVar(&o.Retain, "retain", 100_000, "headers the light node keeps")
	fs.IntVar(&o.Follow, "follow", 0, "headers published after the window is filled")
	fs.DurationVar(&o.RTT, "rtt", 0, "round trip between the light node and the serving node (0: direct loopback)")
	fs.StringVar(&logLevel, "log.level", "error", "log level of the nodes")
	return cmd
}

// maxBenchNodes bounds the nodes of one gossip benchmark, all in this
// process.
const maxBenchNodes = 500
