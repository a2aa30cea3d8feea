package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/internal/liblog"
	"github.com/headersync/headersync/node"
)

// stopTimeout bounds a graceful stop after SIGINT or SIGTERM.
const stopTimeout = 5 * time.Second

// startFlags are the command-line overrides of config.toml.
type startFlags struct {
	home         string
	listen       []string
	seeds        []string
	blocked      []string
	allowed      []string
	maxPeers     int
	blockTime    time.Duration
	trustedHash  string
	syncFrom     string
	retain       int64
	apiListen    string
	logLevel     string
	logFormat    string
	changedFlags *pflag.FlagSet
}

func (f *startFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.home, "home", defaultHome(), "node home directory")
	fs.StringSliceVar(&f.listen, "p2p.listen", nil, "libp2p listen multiaddrs, comma-separated")
	fs.StringSliceVar(&f.seeds, "p2p.seeds", nil, "seed multiaddrs with /p2p/<id>, comma-separated")
	fs.StringSliceVar(&f.blocked, "p2p.blocked-peers", nil, "peer IDs never to connect to, comma-separated")
	fs.StringSliceVar(&f.allowed, "p2p.allowed-peers", nil, "if set, the only peer IDs to connect to, comma-separated")
	fs.IntVar(&f.maxPeers, "p2p.max-peers", 0, "most connections to keep (0: the default, 32; at least 8)")
	fs.DurationVar(&f.blockTime, "block-time", 0, "the sequencer's block interval, e.g. 1s")
	fs.StringVar(&f.trustedHash, "trusted-hash", "", "hash (hex) of the first header to trust instead of genesis; wins over --sync-from")
	fs.StringVar(&f.syncFrom, "sync-from", "", "where a node with an empty store begins: genesis (every header from the first) or head (the network head, then backwards)")
	fs.Int64Var(&f.retain, "retain-headers", 0, "how many headers (full nodes: and blocks) to keep, the head and those just below it; 0 keeps everything")
	fs.StringVar(&f.apiListen, "api.listen", "", "HTTP API host:port")
	fs.StringVar(&f.logLevel, "log.level", "", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log.format", "", "text or json")
	f.changedFlags = fs
}

// apply overrides cfg with the flags given on the command line. The
// result is checked as config.toml is, by cfg.Validate; apply refuses only
// what no config key could hold.
func (f *startFlags) apply(cfg *config.NodeConfig) error {
	changed := f.changedFlags.Changed
	if changed("p2p.listen") {
		cfg.P2P.ListenAddress = f.listen
	}
	if changed("p2p.seeds") {
		cfg.P2P.Seeds = f.seeds
	}
	if changed("p2p.blocked-peers") {
		cfg.P2P.BlockedPeers = f.blocked
	}
	if changed("p2p.allowed-peers") {
		cfg.P2P.AllowedPeers = f.allowed
	}
	if changed("p2p.max-peers") {
		cfg.P2P.MaxPeers = f.maxPeers
	}
	if changed("block-time") {
		cfg.BlockTime = config.Duration(f.blockTime)
	}
	if changed("trusted-hash") {
		cfg.TrustedHash = f.trustedHash
	}
	if changed("sync-from") {
		cfg.SyncFrom = config.SyncFrom(f.syncFrom)
	}
	if changed("retain-headers") {
		if err := retainFlag("retain-headers", f.retain); err != nil {
			return err
		}
		cfg.RetainHeaders = uint64(f.retain)
	}
	if changed("api.listen") {
		cfg.API.Listen = f.apiListen
	}
	if changed("log.level") {
		cfg.Log.Level = f.logLevel
	}
	if changed("log.format") {
		cfg.Log.Format = f.logFormat
	}
	return nil
}

func newStartCmd() *cobra.Command {
	var f startFlags
	cmd := &cobra.Command{
		Use:   "start --home DIR [flags]",
		Short: "Run a node until SIGINT or SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := config.Home(f.home)
			if _, err := os.Stat(f.home); err != nil {
				return fmt.Errorf("home %s: %w (create it with headersync init)", f.home, err)
			}
			cfg, err := config.Load(home.ConfigFile())
			if err != nil {
				return err
			}
			if err := f.apply(&cfg); err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			logger, err := newLogger(cfg.Log, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if apiExposed(cfg.API.Listen) {
				logger.Warn("the API is reachable from other machines and has no authentication: anyone who reaches it can read the node and submit transactions",
					"api.listen", cfg.API.Listen)
			}
			opts, err := node.FromHome(home, cfg)
			if err != nil {
				return err
			}
			opts.Logger = logger
			n, err := node.New(opts)
			if err != nil {
				return err
			}
			return runUntilSignal(n, logger)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

// runUntilSignal starts n and stops it on SIGINT or SIGTERM. A second signal
// during the stop kills the process the default way.
func runUntilSignal(n interface {
	Start(context.Context) error
	Stop(context.Context) error
}, logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := n.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	stop()
	logger.Info("signal received; stopping", "timeout", stopTimeout)
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := n.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	return nil
}

// newLogger builds the node's logger and routes the libraries' loggers
// (go-header's go-log, go-libp2p's gologshim) into it, so the process
// writes one log in the format and at the level configured.
func newLogger(c config.LogConfig, w interface{ Write([]byte) (int, error) }) (*slog.Logger, error) {
	logger, err := c.NewLogger(w)
	if err != nil {
		return nil, err
	}
	level, err := config.ParseLogLevel(c.Level)
	if err != nil {
		return nil, err
	}
	liblog.Route(logger.Handler(), level)
	return logger, nil
}

// apiExposed says whether an API address is reachable beyond this machine:
// any host but a loopback address or "localhost" (an empty host or 0.0.0.0
// listens on every interface).
func apiExposed(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil || host == "localhost" {
		return false // invalid addresses are config's to refuse
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}
