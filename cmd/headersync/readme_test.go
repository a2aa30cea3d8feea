package main

import (
	"io"
	"os"
	"testing"

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
