package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDisplayName(t *testing.T) {
	for argv0, want := range map[string]string{
		"pivotcheck":                           "pivotcheck",
		"/usr/local/bin/pivotcheck":            "pivotcheck",
		"/tmp/x/clusterctl-pivotcheck":         "clusterctl pivotcheck",
		"/home/u/.krew/bin/kubectl-pivotcheck": "kubectl pivotcheck",
		"kubectl-pivotcheck.exe":               "kubectl pivotcheck",
		"/tmp/x/clusterctl-pivotcheck-version": "pivotcheck",
		"/tmp/x/kubectl-other":                 "pivotcheck",
		"pivotcheck.test":                      "pivotcheck",
	} {
		require.Equal(t, want, displayName(argv0), argv0)
	}
}

// TestPluginHelp: run as kubectl-pivotcheck (krew's link) or
// clusterctl-pivotcheck, help and examples name "kubectl pivotcheck".
// This checks the name handling; the round trips through the real
// clusterctl and kubectl binaries are in hack/release_test.go.
func TestPluginHelp(t *testing.T) {
	for _, name := range []string{"kubectl pivotcheck", "clusterctl pivotcheck"} {
		root := newRootCommand()
		setDisplayName(root, name)
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs([]string{"version", "--help"})
		require.NoError(t, root.Execute())
		require.Contains(t, out.String(), "Usage:\n  "+name+" version [flags]")
		require.Contains(t, out.String(), "Examples:\n  "+name+" version\n  "+name+" version -o json")

		out.Reset()
		root.SetArgs([]string{"--help"})
		require.NoError(t, root.Execute())
		require.Contains(t, out.String(), "Usage:\n  "+name+" [command]")
		require.Contains(t, out.String(), `Use "`+name+` [command] --help"`)
	}
	// Invoked under its own name nothing changes.
	root := newRootCommand()
	setDisplayName(root, "pivotcheck")
	require.Empty(t, root.Annotations)
}
