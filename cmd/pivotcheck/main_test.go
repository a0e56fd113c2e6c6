package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/test/upstream"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestVersion(t *testing.T) {
	out, err := run(t, "version", "-o", "json")
	require.NoError(t, err)
	var info map[string]string
	require.NoError(t, json.Unmarshal([]byte(out), &info))
	require.NotEmpty(t, info["version"])
	require.NotEmpty(t, info["goVersion"])
	// The linked clusterctl library, from the binary's build info: the
	// release the tests' default CRDs come from.
	require.Equal(t, upstream.ClusterAPI.Version, info["clusterAPI"])
	require.Equal(t, upstream.ClusterAPI.Version, info["clusterAPITypes"])
	require.Equal(t, upstream.BMO.Version, info["bmoAPIs"])

	out, err = run(t, "version")
	require.NoError(t, err)
	require.Contains(t, out, "pivotcheck ")
	require.Contains(t, out, "built against cluster-api "+upstream.ClusterAPI.Version+" (clusterctl library)")

	_, err = run(t, "version", "-o", "yamlx")
	require.ErrorContains(t, err, `unknown output format "yamlx"`)
	require.Equal(t, 1, exitCode(err))
}

func TestSubcommandsExist(t *testing.T) {
	cmd := newRootCommand()
	names := map[string]bool{}
	for _, c := range cmd.Commands() {
		names[c.Name()] = true
	}
	for _, want := range []string{"version", "fn", "webhook", "preflight", "move"} {
		require.True(t, names[want], want)
	}
}
