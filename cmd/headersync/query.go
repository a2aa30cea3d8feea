package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/headersync/headersync/api"
)

// queryTimeout bounds one API call of the query commands.
const queryTimeout = 10 * time.Second

func defaultAPI() string { return "http://" + api.DefaultListen }

// fetchStatus asks the node at url for its status.
func fetchStatus(ctx context.Context, url string) (api.Status, error) {
	c, err := api.NewClient(url)
	if err != nil {
		return api.Status{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	return c.Status(ctx)
}

func newStatusCmd() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "status --api URL",
		Short: "Print a node's status as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := fetchStatus(cmd.Context(), url)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), st)
		},
	}
	cmd.Flags().StringVar(&url, "api", defaultAPI(), "the node's API base URL")
	return cmd
}

func newHeaderCmd() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "header <height|hash|head> --api URL",
		Short: "Print a stored header as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := api.NewClient(url)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), queryTimeout)
			defer cancel()
			h, err := c.Header(ctx, args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), h)
		},
	}
	cmd.Flags().StringVar(&url, "api", defaultAPI(), "the node's API base URL")
	return cmd
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("print: %w", err)
	}
	return nil
}
