package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
)

// The README's table of commands names every command the CLI has.
func TestReadmeListsEveryCommand(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	for _, c := range newRoot(io.Discard, io.Discard).Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		require.Regexp(t, "(\\| |, )`"+c.Name()+"[ `]", string(readme), "README lacks %s", c.Name())
	}
}

// The README documents every flag of start (in the configuration table,
// beside the key it overrides) and of devnet (in its row of the table of
// commands).
func TestReadmeListsStartAndDevnetFlags(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	var configTable, devnetRow string
	inTable := false
	for _, line := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "| `devnet "):
			devnetRow = line
		case strings.HasPrefix(line, "| key | flag |"):
			inTable = true
		case inTable && strings.HasPrefix(line, "|"):
			configTable += line + "\n"
		default:
			inTable = false
		}
	}
	require.NotEmpty(t, configTable, "README lacks the configuration table")
	require.NotEmpty(t, devnetRow, "README lacks devnet's row")

	root := newRoot(io.Discard, io.Discard)
	for _, tc := range []struct {
		cmd, where, text string
		format           string // how the README writes a flag
		skip             map[string]bool
	}{
		{"start", "the configuration table", configTable, "`--%s`", map[string]bool{"home": true, "help": true}},
		{"devnet", "devnet's row", devnetRow, "[--%s ", map[string]bool{"help": true}},
	} {
		cmd, _, err := root.Find([]string{tc.cmd})
		require.NoError(t, err)
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if !tc.skip[f.Name] {
				require.True(t, strings.Contains(tc.text, fmt.Sprintf(tc.format, f.Name)), "README: %s lacks %s --%s", tc.where, tc.cmd, f.Name)
			}
		})
	}
}
