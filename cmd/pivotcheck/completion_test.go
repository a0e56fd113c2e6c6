package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCompletion keeps cobra's built-in completion command reachable (the
// README tells users to source it).
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "__start_pivotcheck", "zsh": "#compdef pivotcheck"} {
		out, err := run(t, "completion", shell)
		require.NoError(t, err, shell)
		require.Contains(t, out, want, shell)
	}
}

// TestEveryCommandHasExamples: each subcommand's --help shows how to call it.
func TestEveryCommandHasExamples(t *testing.T) {
	for _, c := range newRootCommand().Commands() {
		switch c.Name() {
		case "help", "completion":
			continue
		}
		require.NotEmpty(t, c.Example, "pivotcheck %s has no Example", c.Name())
	}
}
