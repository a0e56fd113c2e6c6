package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/utils/ptr"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/pivotcheck/preflight"
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
		{"unknown flag", []string{"preflight", "--bogus"}, "unknown flag: --bogus"},
		{"stray argument", []string{"preflight", "--to-kubeconfig", kc, "extra"}, `unknown command "extra"`},
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

// TestPreflightHelpListsCheckIDs checks that every check ID can be found
// where --skip-check's error sends the user: preflight's help.
func TestPreflightHelpListsCheckIDs(t *testing.T) {
	out, err := run(t, "preflight", "--help")
	require.NoError(t, err)
	for _, c := range preflight.Catalog {
		require.Regexp(t, `[ ,]`+regexp.QuoteMeta(c.ID)+`(,|\n|$)`, out, "preflight --help lists %s", c.ID)
	}
}

// TestPreflightExitCodes runs the command against two envtest clusters:
// 0 and JSON when ready, 1 and the table when not.
func TestPreflightExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("needs envtest")
	}
	assets, err := testenv.AssetsDir()
	require.NoError(t, err)
	t.Setenv("KUBEBUILDER_ASSETS", assets)
	t.Setenv("HOME", t.TempDir()) // clusterctl writes under HOME
	ctx := context.Background()
	pair, err := testenv.StartPair(ctx, testenv.Options{LabelCRD: testenv.LabelLikeClusterctl}, testenv.Options{LabelCRD: testenv.LabelLikeClusterctl})
	require.NoError(t, err)
	defer func() { _ = pair.Stop() }()
	require.NoError(t, fixture.InstallManagement(ctx, pair.Bootstrap.Client, fixture.Management{
		Ironic: ptr.To(int32(0)), Keepalived: true, BMOVersion: fixture.BMODefaultVersion, Providers: fixture.CAPIProviders()}))
	require.NoError(t, fixture.InstallManagement(ctx, pair.Target.Client, fixture.Management{
		Ironic: ptr.To(int32(1)), Keepalived: true, BMOVersion: fixture.BMODefaultVersion, Providers: fixture.CAPIProviders()}))
	require.NoError(t, fixture.InstallBMOWebhook(ctx, pair.Target.Client, admissionregistrationv1.Ignore))
	_, err = fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: "ready"})
	require.NoError(t, err)
	_, err = fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: "paused", Faults: fixture.Faults{ClusterPaused: true}})
	require.NoError(t, err)
	args := func(ns string, extra ...string) []string {
		return append([]string{"preflight", "--kubeconfig", pair.Bootstrap.Kubeconfig, "--context", pair.Bootstrap.Context,
			"--to-kubeconfig", pair.Target.Kubeconfig, "--to-context", pair.Target.Context, "-n", ns}, extra...)
	}

	out, err := run(t, args("ready", "-o", "json")...)
	require.NoError(t, err, out)
	var rep struct {
		Ready     bool   `json:"ready"`
		Namespace string `json:"namespace"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.True(t, rep.Ready)
	require.Equal(t, "ready", rep.Namespace)

	out, err = run(t, args("paused")...)
	require.Error(t, err)
	require.Equal(t, 1, exitCode(err))
	require.Contains(t, out, "✖ cluster-paused (1 error(s))")
	require.Contains(t, out, "✔ host-in-progress")
	require.Contains(t, out, "NOT READY: 1 error(s)")
	require.NotContains(t, out, "\x1b[", "no colour off a terminal")

	out, err = run(t, args("paused", "-o", "yaml", "--skip-check", "cluster-paused")...)
	require.NoError(t, err, out)
	require.Contains(t, out, "ready: true")

	// A pattern that matches BMO (and everything else) is a bad flag.
	_, err = run(t, args("ready", "--ironic-workload", "*/*")...)
	require.Error(t, err)
	require.Equal(t, 2, exitCode(err))
	require.Contains(t, err.Error(), `--ironic-workload "*/*" matches Deployment `)
	require.NotContains(t, err.Error(), "\n")

	// A real SIGHUP (a dropped SSH session) while preflight waits on an
	// Ironic API that never answers ends the command through its normal
	// path within seconds, instead of killing the process (SIGHUP's
	// default action, which would end this test binary).
	silent, hit := silentListener(t)
	done := make(chan error, 1)
	go func() {
		_, err := run(t, args("ready", "--ironic-url", "https://"+silent)...)
		done <- err
	}()
	select {
	case <-hit:
	case err := <-done:
		t.Fatalf("preflight ended before probing the Ironic API: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("preflight never probed the Ironic API")
	}
	sent := time.Now()
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	select {
	case err := <-done:
		t.Logf("SIGHUP to return: %s (%v)", time.Since(sent), err)
		require.Error(t, err)
		require.Less(t, time.Since(sent), 5*time.Second)
	case <-time.After(8 * time.Second):
		t.Fatal("preflight still runs 8 s after SIGHUP (the probe alone would take 10 s)")
	}
}

// silentListener accepts TCP connections and never answers; hit is closed
// at the first connection.
func silentListener(t *testing.T) (addr string, hit <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ch := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			once.Do(func() { close(ch) })
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String(), ch
}
