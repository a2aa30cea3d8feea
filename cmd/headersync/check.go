package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/types"
)

func newCheckCmd() *cobra.Command {
	var home string
	cmd := &cobra.Command{
		Use:   "check --home DIR",
		Short: "Verify a stopped node's stored chains, offline",
		Long: `Check the header (and block) chain a stopped node stores: from the head back
to the genesis or trusted header, every header is valid, signed by the
genesis sequencer, extends the one below it and is the one its height index
names. Exits 1 if any is not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h := config.Home(home)
			cfg, err := config.Load(h.ConfigFile())
			if err != nil {
				return err
			}
			genesis, err := types.LoadGenesis(h.GenesisFile())
			if err != nil {
				return err
			}
			trusted, err := cfg.TrustedHashBytes()
			if err != nil {
				return err
			}
			ds, err := store.Open(h.DataDir())
			if err != nil {
				return err
			}
			defer ds.Close()
			ctx := cmd.Context()
			rep, err := p2psync.VerifyStore[*types.SignedHeader](ctx, ds, p2psync.Headers, genesis, trusted)
			if err != nil {
				return err
			}
			printReport(cmd.OutOrStdout(), "headers", rep)
			if cfg.Role == config.RoleLight {
				return nil
			}
			rep, err = p2psync.VerifyStore[*types.Block](ctx, ds, p2psync.Blocks, genesis, trusted)
			if err != nil {
				return err
			}
			printReport(cmd.OutOrStdout(), "blocks", rep)
			return nil
		},
	}
	cmd.Flags().StringVar(&home, "home", defaultHome(), "node home directory")
	return cmd
}

func printReport(w io.Writer, what string, rep p2psync.StoreReport) {
	if rep.Empty {
		fmt.Fprintf(w, "%s: empty\n", what)
		return
	}
	fmt.Fprintf(w, "%s: %d..%d ok\n", what, rep.From, rep.Head)
}
