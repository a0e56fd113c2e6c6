package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// unreachableKubeconfig points at a port nothing listens on.
func unreachableKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "unreachable.kubeconfig")
	require.NoError(t, os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: "t"}
contexts:
- name: c
  context: {cluster: c, user: u, namespace: metal3}
current-context: c
`), 0o600))
	return path
}

func TestPreflightCouldNotCheck(t *testing.T) {
	kc := unreachableKubeconfig(t)
	t.Setenv("HOME", t.TempDir()) // clusterctl writes under HOME
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no target", []string{"preflight", "--kubeconfig", kc, "-n", "metal3"}, "--to-kubeconfig is required"},
		{"bad output", []string{"preflight", "--kubeconfig", kc, "--to-kubeconfig", kc, "-o", "xml"}, `unknown output format "xml"`},
		{"bad skip", []string{"preflight", "--kubeconfig", kc, "--to-kubeconfig", kc, "--skip-check", "nope"}, `unknown check ID "nope"`},
		{"bad ironic workload", []string{"preflight", "--kubeconfig", kc, "--to-kubeconfig", kc, "--ironic-workload", "nope"}, "must be namespace/name"},
		{"unreachable", []string{"preflight", "--kubeconfig", kc, "--to-kubeconfig", kc}, "could not check: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, tc.args...)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.Equal(t, 2, exitCode(err))
			require.False(t, strings.Contains(err.Error(), "\n"), "one line: %q", err.Error())
		})
	}
}
