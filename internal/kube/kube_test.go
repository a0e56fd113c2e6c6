package kube

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfig writes a kubeconfig with two clusters, users and
// contexts (current: ctx-a), all on loopback addresses.
func writeKubeconfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	require.NoError(t, os.WriteFile(ca, []byte("not a real CA, only inlined\n"), 0o600))
	cfg := clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{
			"cluster-a": {Server: "https://127.0.0.1:6443", CertificateAuthority: ca},
			"cluster-b": {Server: "https://127.0.0.2:6443", InsecureSkipTLSVerify: true},
		},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{
			"user-a": {Token: "token-a"},
			"user-b": {Token: "token-b"},
		},
		Contexts: map[string]*clientcmdapi.Context{
			"ctx-a": {Cluster: "cluster-a", AuthInfo: "user-a", Namespace: "ns-a"},
			"ctx-b": {Cluster: "cluster-b", AuthInfo: "user-b", Namespace: "ns-b"},
		},
		CurrentContext: "ctx-a",
	}
	path := filepath.Join(dir, "kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(cfg, path))
	return path
}

func TestRESTConfigContextAndOverrides(t *testing.T) {
	path := writeKubeconfig(t)
	cases := []struct {
		name   string
		target Cluster
		check  func(t *testing.T, cfg *rest.Config)
	}{
		{name: "current context", target: Cluster{Kubeconfig: path}, check: func(t *testing.T, cfg *rest.Config) {
			require.Equal(t, "https://127.0.0.1:6443", cfg.Host)
			require.Equal(t, "token-a", cfg.BearerToken)
		}},
		{name: "context selects cluster and user", target: Cluster{Kubeconfig: path, Context: "ctx-b"}, check: func(t *testing.T, cfg *rest.Config) {
			require.Equal(t, "https://127.0.0.2:6443", cfg.Host)
			require.Equal(t, "token-b", cfg.BearerToken)
		}},
		{name: "impersonation and timeout", target: Cluster{Kubeconfig: path, Overrides: &clientcmd.ConfigOverrides{
			AuthInfo: clientcmdapi.AuthInfo{Impersonate: "alice", ImpersonateGroups: []string{"g1", "g2"}},
			Timeout:  "7s",
		}}, check: func(t *testing.T, cfg *rest.Config) {
			require.Equal(t, "alice", cfg.Impersonate.UserName)
			require.Equal(t, []string{"g1", "g2"}, cfg.Impersonate.Groups)
			require.Equal(t, 7*time.Second, cfg.Timeout)
		}},
		{name: "cluster and user flags", target: Cluster{Kubeconfig: path, Overrides: &clientcmd.ConfigOverrides{
			Context: clientcmdapi.Context{Cluster: "cluster-b", AuthInfo: "user-b"},
		}}, check: func(t *testing.T, cfg *rest.Config) {
			require.Equal(t, "https://127.0.0.2:6443", cfg.Host)
			require.Equal(t, "token-b", cfg.BearerToken)
		}},
		{name: "server and token", target: Cluster{Kubeconfig: path, Context: "ctx-b", Overrides: &clientcmd.ConfigOverrides{
			ClusterInfo: clientcmdapi.Cluster{Server: "https://127.0.0.3:8443"},
			AuthInfo:    clientcmdapi.AuthInfo{Token: "token-flag"},
		}}, check: func(t *testing.T, cfg *rest.Config) {
			require.Equal(t, "https://127.0.0.3:8443", cfg.Host)
			require.Equal(t, "token-flag", cfg.BearerToken)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := tc.target.RESTConfig(Rate{})
			require.NoError(t, err)
			tc.check(t, cfg)
		})
	}
}

func TestNamespaceFollowsContext(t *testing.T) {
	path := writeKubeconfig(t)
	ns, err := Cluster{Kubeconfig: path, Context: "ctx-b"}.Namespace()
	require.NoError(t, err)
	require.Equal(t, "ns-b", ns)
}

func TestMissingContextNamesTheKubeconfig(t *testing.T) {
	path := writeKubeconfig(t)
	_, err := Cluster{Kubeconfig: path, Context: "nope"}.RESTConfig(Rate{})
	require.ErrorContains(t, err, path+" (context nope)")
}

func TestRateApply(t *testing.T) {
	in := &rest.Config{Host: "https://127.0.0.1:6443"}
	out := Rate{QPS: 100, Burst: 200}.Apply(in)
	require.Equal(t, float32(100), out.QPS)
	require.Equal(t, 200, out.Burst)
	require.Zero(t, in.QPS, "Apply must not change its argument")

	own := &rest.Config{QPS: 1000, Burst: 2000}
	out = Rate{QPS: -1}.Apply(own)
	require.Equal(t, float32(1000), out.QPS, "a config's own limit is kept")
	require.Equal(t, 2000, out.Burst)

	path := writeKubeconfig(t)
	cfg, err := Cluster{Kubeconfig: path}.RESTConfig(Rate{QPS: 200, Burst: 400})
	require.NoError(t, err)
	require.Equal(t, float32(200), cfg.QPS)
	require.Equal(t, 400, cfg.Burst)
}

func TestHasOverrides(t *testing.T) {
	require.False(t, Cluster{}.HasOverrides())
	// What BindOverrideFlags leaves when no flag is given: an empty --as-group slice.
	require.False(t, Cluster{Overrides: &clientcmd.ConfigOverrides{AuthInfo: clientcmdapi.AuthInfo{ImpersonateGroups: []string{}}}}.HasOverrides())
	require.False(t, Cluster{Overrides: &clientcmd.ConfigOverrides{CurrentContext: "x"}}.HasOverrides(), "the context is not an override")
	require.False(t, Cluster{Overrides: &clientcmd.ConfigOverrides{Timeout: "0"}}.HasOverrides(), "--request-timeout's default")
	require.True(t, Cluster{Overrides: &clientcmd.ConfigOverrides{Timeout: "1s"}}.HasOverrides())
}

func TestStandalone(t *testing.T) {
	path := writeKubeconfig(t)
	plain := Cluster{Kubeconfig: path, Context: "ctx-b"}
	got, err := plain.Standalone(t.TempDir(), "source.kubeconfig")
	require.NoError(t, err)
	require.Equal(t, plain, got, "without overrides the target is used as it is")

	withFlags := Cluster{Kubeconfig: path, Overrides: &clientcmd.ConfigOverrides{
		AuthInfo:    clientcmdapi.AuthInfo{Impersonate: "alice"},
		ClusterInfo: clientcmdapi.Cluster{Server: "https://127.0.0.4:6443"},
		Timeout:     "3s",
	}}
	want, err := withFlags.RESTConfig(Rate{})
	require.NoError(t, err)
	dir := t.TempDir()
	got, err = withFlags.Standalone(dir, "source.kubeconfig")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "source.kubeconfig"), got.Kubeconfig)
	require.Equal(t, withFlags.String(), got.String(), "messages name the original kubeconfig")
	fi, err := os.Stat(got.Kubeconfig)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	raw, err := clientcmd.LoadFromFile(got.Kubeconfig)
	require.NoError(t, err)
	require.Len(t, raw.Contexts, 1, "minified to the selected context")
	require.Len(t, raw.Clusters, 1)
	for _, c := range raw.Clusters {
		require.Empty(t, c.CertificateAuthority, "certificate files are inlined")
		require.NotEmpty(t, c.CertificateAuthorityData)
	}
	cfg, err := Cluster{Kubeconfig: got.Kubeconfig, Context: got.Context}.RESTConfig(Rate{})
	require.NoError(t, err)
	require.Equal(t, want.Host, cfg.Host)
	require.Equal(t, "https://127.0.0.4:6443", cfg.Host)
	require.Equal(t, want.Impersonate, cfg.Impersonate)
	require.Equal(t, want.BearerToken, cfg.BearerToken)
	require.Equal(t, 3*time.Second, want.Timeout)
}
