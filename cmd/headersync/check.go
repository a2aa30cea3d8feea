package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/celestiaorg/go-header"
	"github.com/spf13/cobra"

	"github.com/headersync/headersync/config"
	"github.com/headersync/headersync/node"
	"github.com/headersync/headersync/p2psync"
	"github.com/headersync/headersync/store"
	"github.com/headersync/headersync/types"
	"github.com/headersync/headersync/types/rollkit"
)

func newCheckCmd() *cobra.Command {
	var home, trustedHash string
	cmd := &cobra.Command{
		Use:   "check --home DIR [--trusted-hash HEX]",
		Short: "Verify a stopped node's stored chains, offline",
		Long: `Check the header (and block) chain a stopped node stores: from the head back
to its base (the lowest stored height), every header is valid, signed by the
genesis sequencer, extends the one below it and is the one its height index
names; heights that cannot be read (a corrupt disk) are listed. A chain
begins at the trusted header given with --trusted-hash, else at the one the
node recorded when it started from a trusted hash, else at the config's
trusted_hash, else at genesis: a base there must be that header. A base above
it (a node that keeps a window, or began at the network head) must be signed
by the genesis key, as every header is; the report says which heights are not
stored. Exits 1 if any chain fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h := config.Home(home)
			cfg, err := config.Load(h.ConfigFile())
			if err != nil {
				return err
			}
			genesis, err := node.LoadGenesis(cfg.Format, h.GenesisFile())
			if err != nil {
				return err
			}
			explicit := cmd.Flags().Changed("trusted-hash")
			if explicit {
				cfg.TrustedHash = trustedHash
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
			light := cfg.Role == config.RoleLight
			if genesis.HeaderFormat() == types.FormatRollkit013 {
				return checkChains[*rollkit.SignedHeader, *rollkit.Block](ctx, cmd.OutOrStdout(), ds, genesis, trusted, explicit, light)
			}
			return checkChains[*types.SignedHeader, *types.Block](ctx, cmd.OutOrStdout(), ds, genesis, trusted, explicit, light)
		},
	}
	cmd.Flags().StringVar(&home, "home", defaultHome(), "node home directory")
	cmd.Flags().StringVar(&trustedHash, "trusted-hash", "", "hash (hex) of the header the chains begin at, if the node started from one")
	return cmd
}

// checkChains verifies the stored header chain, and the block chain unless
// light, of header type H and block type B.
func checkChains[H p2psync.Header[H], B p2psync.Header[B]](ctx context.Context, w io.Writer, ds p2psync.Datastore, g *types.Genesis, trusted header.Hash, explicit, light bool) error {
	errs := []error{checkChain[H](ctx, w, ds, p2psync.Headers, g, trusted, explicit)}
	if !light {
		errs = append(errs, checkChain[B](ctx, w, ds, p2psync.Blocks, g, trusted, explicit))
	}
	return joinOneLine(errs...)
}

// checkChain verifies one stored chain and prints its report. Unless the
// trusted hash was given on the command line, the base the node recorded
// wins over the config's: it is where the store did begin.
func checkChain[H p2psync.Header[H]](ctx context.Context, w io.Writer, ds p2psync.Datastore, kind p2psync.Kind, g *types.Genesis, trusted header.Hash, explicit bool) error {
	if !explicit {
		var err error
		if trusted, err = p2psync.TrustedBase(ctx, ds, kind, trusted); err != nil {
			return err
		}
	}
	rep, err := p2psync.VerifyStore[H](ctx, ds, kind, g, trusted)
	if err != nil {
		return err
	}
	what := string(kind) + "s"
	if rep.Empty {
		fmt.Fprintf(w, "%s: empty\n", what)
		return nil
	}
	fmt.Fprintf(w, "%s: %d..%d ok%s\n", what, rep.Base, rep.Head, windowNote(rep))
	return nil
}

// windowNote says, for a store that keeps a window, which heights below its
// base it does not store: a reader of "101..300 ok" should not take the
// chain below 101 for checked.
func windowNote(rep p2psync.StoreReport) string {
	switch {
	case !rep.Windowed():
		return ""
	case rep.Begin == 0:
		return fmt.Sprintf(" (a window: the trusted header and the heights below %d are not stored)", rep.Base)
	case rep.Begin == rep.Base-1:
		return fmt.Sprintf(" (a window: height %d is not stored)", rep.Begin)
	}
	return fmt.Sprintf(" (a window: heights %d..%d are not stored)", rep.Begin, rep.Base-1)
}

// joinOneLine joins the non-nil errors into one, whose message is one line:
// the CLI prints every error on one line.
func joinOneLine(errs ...error) error {
	var msgs []string
	var kept []error
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
			kept = append(kept, err)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return &oneLineErrors{msg: strings.Join(msgs, "; "), errs: kept}
}

// oneLineErrors unwraps like errors.Join's error but reads as one line.
type oneLineErrors struct {
	msg  string
	errs []error
}

func (e *oneLineErrors) Error() string   { return e.msg }
func (e *oneLineErrors) Unwrap() []error { return e.errs }
