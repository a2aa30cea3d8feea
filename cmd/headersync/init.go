package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/node"
	"github.com/headersync/headersync/types"
	"github.com/headersync/headersync/types/rollkit"
)

// defaultHome is where a node lives when --home is not given.
func defaultHome() string {
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".headersync")
	}
	return ".headersync"
}

func newInitCmd() *cobra.Command {
	var home, chainID, role, genesisFile, format string
	cmd := &cobra.Command{
		Use:   "init --home DIR --chain-id ID --role sequencer|full|light [--genesis FILE] [--format rollkit-v0.13]",
		Short: "Create a node's home: config, keys and genesis",
		Long: `Create a node's home directory with config.toml, the libp2p identity key
and genesis.json. A sequencer also gets its signing key and a new genesis
naming it; full and light nodes copy the sequencer's genesis (--genesis).
With --format rollkit-v0.13 a full or light node joins a rollkit v0.13
network: --genesis is that chain's genesis.json as rollkit writes it,
copied as is. Prints the node's peer ID. Refuses to touch an existing home.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := config.ParseRole(role)
			if err != nil {
				return err
			}
			f, err := types.ParseFormat(format)
			if err != nil {
				return err
			}
			in := node.InitOptions{Role: r, ChainID: chainID, GenesisFile: genesisFile}
			switch {
			case f != types.FormatHeadersync && r == config.RoleSequencer:
				return fmt.Errorf("--format %s is for full and light nodes; a sequencer produces the native format", f)
			case genesisFile != "" && r == config.RoleSequencer:
				return errors.New("--genesis is for full and light nodes; a sequencer creates its genesis")
			case genesisFile == "" && r != config.RoleSequencer:
				return fmt.Errorf("a %s node needs --genesis FILE (the sequencer's genesis.json)", r)
			case genesisFile != "":
				if in.Genesis, err = node.LoadGenesis(f, genesisFile); err != nil {
					if _, rkErr := rollkit.LoadGenesis(genesisFile); f == types.FormatHeadersync && rkErr == nil {
						return fmt.Errorf("%s is a rollkit chain's genesis: init with --format %s", genesisFile, types.FormatRollkit013)
					}
					return err
				}
			case chainID == "":
				return errors.New("--chain-id is required for a sequencer")
			}
			id, err := node.InitHome(config.Home(home), in)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), id.String())
			return nil
		},
	}
	cmd.Flags().StringVar(&home, "home", defaultHome(), "node home directory")
	cmd.Flags().StringVar(&chainID, "chain-id", "", "chain ID (sequencer: required; others: must match the genesis)")
	cmd.Flags().StringVar(&role, "role", "", "sequencer, full or light")
	cmd.Flags().StringVar(&genesisFile, "genesis", "", "the chain's genesis.json (full and light nodes)")
	cmd.Flags().StringVar(&format, "format", string(types.FormatHeadersync), `the chain's header format: headersync, or rollkit-v0.13 to join a rollkit v0.13 network`)
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func newNodeIDCmd() *cobra.Command {
	var home string
	cmd := &cobra.Command{
		Use:   "node-id --home DIR",
		Short: "Print the node's libp2p peer ID",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := node.PeerIDOf(config.Home(home))
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), id.String())
			return nil
		},
	}
	cmd.Flags().StringVar(&home, "home", defaultHome(), "node home directory")
	return cmd
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "headersync", node.Version)
		},
	}
}
