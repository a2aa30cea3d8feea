package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/headersync/headersync/api"
	"github.com/headersync/headersync/p2psync"
)

func newPeersCmd() *cobra.Command {
	var (
		url    string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "peers --api URL [--json]",
		Short: "List a node's connected peers: address, direction, latency, what they serve and how they behave",
		Long: `List the peers a node is connected to, one per line: peer ID, the peer's
address, who dialled (inbound/outbound), round-trip latency, and for each sync
service whether the peer serves its exchange ("serves"), its recent failures
to answer ("N strikes") or "banned". A peer of another chain shows its chain.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := fetchStatus(cmd.Context(), url)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), st.Peers)
			}
			return printPeers(cmd.OutOrStdout(), st)
		},
	}
	cmd.Flags().StringVar(&url, "api", defaultAPI(), "the node's API base URL")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the peers as JSON")
	return cmd
}

// printPeers writes the peer table. The service columns follow the node:
// a light node has no block service.
func printPeers(w io.Writer, st api.Status) error {
	services := []string{"header"}
	if st.Blocks != nil {
		services = append(services, "block")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "PEER\tADDRESS\tDIRECTION\tLATENCY\t%s\tCHAIN\n", strings.ToUpper(strings.Join(services, "\t")))
	for _, p := range st.Peers {
		latency := "-"
		if p.LatencyMS > 0 {
			latency = fmt.Sprintf("%.1fms", p.LatencyMS)
		}
		chain := p.Chain
		if chain == "" {
			chain = st.ChainID
		}
		cols := []string{p.ID, p.Addr, p.Direction, latency}
		for _, s := range services {
			cols = append(cols, peerServiceCell(p.Services[s]))
		}
		fmt.Fprintln(tw, strings.Join(append(cols, chain), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print peers: %w", err)
	}
	if len(st.Peers) == 0 {
		fmt.Fprintln(w, "(no connected peers)")
	}
	return nil
}

func peerServiceCell(s p2psync.PeerState) string {
	cell := "no"
	if s.Serves {
		cell = "serves"
	}
	switch {
	case s.Banned:
		cell += ",banned"
	case s.Strikes == 1:
		cell += ",1 strike"
	case s.Strikes > 1:
		cell += fmt.Sprintf(",%d strikes", s.Strikes)
	}
	return cell
}
