package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pivotcheck/pivotcheck/internal/kube"
)

// twoContextKubeconfig writes a kubeconfig with contexts ctx-a (current)
// and ctx-b on loopback servers.
func twoContextKubeconfig(t *testing.T) string {
	t.Helper()
	cfg := clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{
			"cluster-a": {Server: "https://127.0.0.1:6443", InsecureSkipTLSVerify: true},
			"cluster-b": {Server: "https://127.0.0.2:6443", InsecureSkipTLSVerify: true},
		},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{"user-a": {Token: "token-a"}, "user-b": {Token: "token-b"}},
		Contexts: map[string]*clientcmdapi.Context{
			"ctx-a": {Cluster: "cluster-a", AuthInfo: "user-a", Namespace: "ns-a"},
			"ctx-b": {Cluster: "cluster-b", AuthInfo: "user-b", Namespace: "ns-b"},
		},
		CurrentContext: "ctx-a",
	}
	path := filepath.Join(t.TempDir(), "two.kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(cfg, path))
	return path
}

// parsePivotFlags parses args with the flags preflight, move and move-back share.
func parsePivotFlags(t *testing.T, args ...string) *pivotFlags {
	t.Helper()
	cmd := &cobra.Command{Use: "x"}
	f := &pivotFlags{}
	newFlags(cmd)
	f.register(cmd)
	require.NoError(t, cmd.ParseFlags(args))
	return f
}

func TestContextFlagsSelectTheContext(t *testing.T) {
	kc := twoContextKubeconfig(t)
	for _, tc := range []struct {
		name             string
		args             []string
		srcHost, dstHost string
	}{
		{name: "current contexts", args: []string{"--kubeconfig", kc, "--to-kubeconfig", kc},
			srcHost: "https://127.0.0.1:6443", dstHost: "https://127.0.0.1:6443"},
		{name: "clusterctl's names", args: []string{"--kubeconfig", kc, "--to-kubeconfig", kc, "--to-kubeconfig-context", "ctx-b"},
			srcHost: "https://127.0.0.1:6443", dstHost: "https://127.0.0.2:6443"},
		{name: "kubectl's names as aliases", args: []string{"--kubeconfig", kc, "--context", "ctx-b", "--to-kubeconfig", kc, "--to-context", "ctx-b"},
			srcHost: "https://127.0.0.2:6443", dstHost: "https://127.0.0.2:6443"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := parsePivotFlags(t, tc.args...)
			src, err := f.source.RESTConfig(kube.Rate{})
			require.NoError(t, err)
			dst, err := f.target.RESTConfig(kube.Rate{})
			require.NoError(t, err)
			require.Equal(t, tc.srcHost, src.Host)
			require.Equal(t, tc.dstHost, dst.Host)
		})
	}
	// The namespace default follows the selected source context.
	f := parsePivotFlags(t, "--kubeconfig", kc, "--kubeconfig-context", "ctx-b", "--to-kubeconfig", kc)
	require.NoError(t, f.validate())
	require.Equal(t, "ns-b", f.namespace)
}

func TestOverrideFlagsReachRESTConfig(t *testing.T) {
	kc := twoContextKubeconfig(t)
	f := parsePivotFlags(t, "--kubeconfig", kc, "--to-kubeconfig", kc,
		"--as", "alice", "--as-group", "g1", "--as-group", "g2", "--request-timeout", "7s",
		"--to-as", "bob", "--to-request-timeout", "9s", "--to-cluster", "cluster-b", "--to-user", "user-b")
	src, err := f.source.RESTConfig(kube.Rate{})
	require.NoError(t, err)
	require.Equal(t, "alice", src.Impersonate.UserName)
	require.Equal(t, []string{"g1", "g2"}, src.Impersonate.Groups)
	require.Equal(t, 7*time.Second, src.Timeout)
	require.Equal(t, "https://127.0.0.1:6443", src.Host)

	dst, err := f.target.RESTConfig(kube.Rate{})
	require.NoError(t, err)
	require.Equal(t, "bob", dst.Impersonate.UserName)
	require.Empty(t, dst.Impersonate.Groups, "the source's --as-group must not reach the target")
	require.Equal(t, 9*time.Second, dst.Timeout)
	require.Equal(t, "https://127.0.0.2:6443", dst.Host, "--to-cluster")
	require.Equal(t, "token-b", dst.BearerToken, "--to-user")

	f = parsePivotFlags(t, "--kubeconfig", kc, "--to-kubeconfig", kc, "--server", "https://127.0.0.9:6443", "--token", "flag-token", "--insecure-skip-tls-verify")
	src, err = f.source.RESTConfig(kube.Rate{})
	require.NoError(t, err)
	require.Equal(t, "https://127.0.0.9:6443", src.Host)
	require.Equal(t, "flag-token", src.BearerToken)
	require.False(t, f.target.HasOverrides(), "the source's flags must not reach the target")
}

// clusterctl gets a resolved kubeconfig when override flags are set, and
// the user's file untouched otherwise.
func TestStandaloneForClusterctl(t *testing.T) {
	kc := twoContextKubeconfig(t)
	f := parsePivotFlags(t, "--kubeconfig", kc, "--to-kubeconfig", kc, "--to-kubeconfig-context", "ctx-b", "--to-as", "bob")
	src, dst := f.source, f.target
	cleanup, err := standalone(&src, &dst)
	require.NoError(t, err)
	require.Equal(t, f.source, src, "no override flags: the source is used as given")
	require.NotEqual(t, kc, dst.Kubeconfig)
	require.Equal(t, f.target.String(), dst.String(), "reports name the user's kubeconfig")
	raw, err := clientcmd.LoadFromFile(dst.Kubeconfig)
	require.NoError(t, err)
	require.Equal(t, "bob", raw.AuthInfos[raw.Contexts[dst.Context].AuthInfo].Impersonate)
	require.Equal(t, "https://127.0.0.2:6443", raw.Clusters[raw.Contexts[dst.Context].Cluster].Server)
	cleanup()
	_, err = os.Stat(dst.Kubeconfig)
	require.True(t, os.IsNotExist(err), "the resolved kubeconfig (it may hold credentials) is removed")
}

// One name and one parsing per option: a flag name means the same type on
// every subcommand, and each shared option exists wherever it applies.
func TestFlagsAreConsistentAcrossCommands(t *testing.T) {
	types := map[string]string{}
	where := map[string]string{}
	cmds := map[string]*cobra.Command{}
	for _, c := range newRootCommand().Commands() {
		cmds[c.Name()] = c
		c.Flags().VisitAll(func(fl *pflag.Flag) {
			if prev, ok := types[fl.Name]; ok {
				require.Equal(t, prev, fl.Value.Type(), "--%s is %s on %s but %s on %s", fl.Name, prev, where[fl.Name], fl.Value.Type(), c.Name())
			}
			types[fl.Name], where[fl.Name] = fl.Value.Type(), c.Name()
		})
	}
	overrides := []string{"cluster", "user", "as", "as-group", "as-uid", "request-timeout", "server", "token", "certificate-authority", "insecure-skip-tls-verify", "client-certificate", "client-key", "tls-server-name"}
	has := func(cmd string, names ...string) {
		for _, n := range names {
			require.NotNil(t, cmds[cmd].Flags().Lookup(n), "pivotcheck %s --%s", cmd, n)
		}
	}
	for _, c := range []string{"preflight", "move", "move-back"} {
		has(c, "kubeconfig", "kubeconfig-context", "context", "to-kubeconfig", "to-kubeconfig-context", "to-context", "output", "skip-check", "ironic-workload")
		has(c, overrides...)
		for _, o := range overrides {
			has(c, "to-"+o)
		}
	}
	has("restore", "to-kubeconfig", "to-kubeconfig-context", "to-context", "output", "unpause")
	has("rollback", "kubeconfig", "kubeconfig-context", "context", "to-kubeconfig", "to-kubeconfig-context", "to-context", "namespace", "output", "backup-dir")
	require.Same(t, cmds["rollback"].Flags().Lookup("to-context"), cmds["rollback"].Flags().Lookup("to-kubeconfig-context"))
	has("webhook", "kubeconfig", "kubeconfig-context", "context", "ironic-workload", "ironic")
	has("version", "output")
	for _, o := range overrides {
		has("restore", "to-"+o)
		has("webhook", o)
	}
	// The aliases are the same flag, not a second one.
	require.Same(t, cmds["webhook"].Flags().Lookup("ironic"), cmds["webhook"].Flags().Lookup("ironic-workload"))
	require.Same(t, cmds["move"].Flags().Lookup("to-context"), cmds["move"].Flags().Lookup("to-kubeconfig-context"))
	require.Equal(t, "stringSlice", types["skip-check"])
	require.Equal(t, "stringSlice", types["ironic-workload"])
}

func TestSliceFlagsSplitOnCommas(t *testing.T) {
	for _, name := range []string{"preflight", "move", "move-back", "webhook"} {
		var cmd *cobra.Command
		for _, c := range newRootCommand().Commands() {
			if c.Name() == name {
				cmd = c
			}
		}
		args := []string{"--ironic-workload", "a/b,c/d", "--ironic", "e/f"}
		if name != "webhook" {
			args = append(args, "--skip-check", "x,y", "--skip-check", "z")
		}
		require.NoError(t, cmd.ParseFlags(args), name)
		require.Equal(t, []string{"a/b", "c/d", "e/f"}, cmd.Flags().Lookup("ironic-workload").Value.(pflag.SliceValue).GetSlice(), name)
		if name != "webhook" {
			require.Equal(t, []string{"x", "y", "z"}, cmd.Flags().Lookup("skip-check").Value.(pflag.SliceValue).GetSlice(), name)
		}
	}
	w, err := parseWorkloads([]string{"metal3/my-ironic", "baremetal-operator-system/baremetal-operator-ironic"})
	require.NoError(t, err)
	require.Len(t, w, 3, "the defaults plus the one new workload: %v", w)
	_, err = parseWorkloads([]string{"no-slash"})
	require.ErrorContains(t, err, `--ironic-workload: ironic workload "no-slash" must be namespace/name`)
}

func TestResumeCommandRedactsSecrets(t *testing.T) {
	cmd := newMoveCommand()
	require.NoError(t, cmd.ParseFlags([]string{"-n", "metal3", "--to-kubeconfig", "/dst", "--to-kubeconfig-context", "admin",
		"--to-token", "s3cret", "--password", "hunter2", "--as", "alice"}))
	got := resumeCommand(cmd, "move", "/abs/backup")
	require.NotContains(t, got, "s3cret")
	require.NotContains(t, got, "hunter2")
	for _, want := range []string{"--to-token=REDACTED", "--password=REDACTED", "--as=alice", "--to-kubeconfig-context=admin"} {
		require.Contains(t, got, want)
	}
}

func TestOutputFormats(t *testing.T) {
	out, err := run(t, "version", "-o", "yaml")
	require.NoError(t, err)
	require.True(t, strings.Contains(out, "version: ") && strings.Contains(out, "goVersion: "), out)
	_, err = run(t, "restore", "--from", t.TempDir(), "--to-kubeconfig", "/nonexistent", "-o", "xml")
	require.ErrorContains(t, err, `unknown output format "xml" for -o: use text, json, yaml`)
	_, err = run(t, "move", "-n", "ns", "--to-kubeconfig", "/nonexistent", "-o", "xml")
	require.ErrorContains(t, err, `unknown output format "xml" for -o: use table, json, yaml`)
}
