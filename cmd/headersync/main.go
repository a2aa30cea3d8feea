// Command headersync runs and inspects headersync nodes: init creates a
// node's home, start runs a node, devnet runs a whole local network, and
// status, header, peers and node-id query one.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit code: 0 on success,
// 1 on any error, which is printed as one line on stderr.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintf(stderr, "headersync: %s\n", oneLine(err))
		return 1
	}
	return 0
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "headersync",
		Short:         "P2P header sync for rollup chains: sequencer, full and light nodes",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Flag errors are usage errors: say which and how to get help.
		Args: cobra.NoArgs,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see %s --help)", err, c.CommandPath())
	})
	root.AddCommand(
		newInitCmd(),
		newStartCmd(),
		newDevnetCmd(),
		newStatusCmd(),
		newHeaderCmd(),
		newNodeIDCmd(),
		newPeersCmd(),
		newCheckCmd(),
		newVersionCmd(),
		newBenchCmd(),
	)
	return root
}

// oneLine flattens an error message so it prints as a single line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
