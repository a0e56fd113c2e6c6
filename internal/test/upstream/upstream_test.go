package upstream

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCRDsAreFoundInModuleCache(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		fn   func(context.Context) ([]string, error)
		want []string
	}{
		{"capi", ClusterAPICRDs, []string{"cluster.x-k8s.io_clusters.yaml", "controlplane.cluster.x-k8s.io_kubeadmcontrolplanes.yaml", "bootstrap.cluster.x-k8s.io_kubeadmconfigs.yaml"}},
		{"capm3", CAPM3CRDs, []string{"infrastructure.cluster.x-k8s.io_metal3machines.yaml", "infrastructure.cluster.x-k8s.io_metal3datatemplates.yaml"}},
		{"bmo", BMOCRDs, []string{"metal3.io_baremetalhosts.yaml", "metal3.io_hardwaredata.yaml"}},
		{"ipam", IPAMCRDs, []string{"ipam.metal3.io_ippools.yaml"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files, err := tc.fn(ctx)
			require.NoError(t, err)
			base := map[string]bool{}
			for _, f := range files {
				base[filepath.Base(f)] = true
				data, err := os.ReadFile(f)
				require.NoError(t, err)
				require.Contains(t, string(data), "kind: CustomResourceDefinition", f)
			}
			for _, w := range tc.want {
				require.True(t, base[w], "missing %s in %v", w, files)
			}
		})
	}
}

// Cluster API v1.14 moved its core CRDs under core/; both layouts are found
// and each release's files come from its own module.
func TestClusterAPICRDsOfEachRelease(t *testing.T) {
	ctx := context.Background()
	core := map[Module]string{ClusterAPI: "core/config/crd/bases", ClusterAPIv113: "config/crd/bases"}
	require.Len(t, ClusterAPIReleases, len(core))
	for _, m := range ClusterAPIReleases {
		t.Run(m.Version, func(t *testing.T) {
			root, err := Dir(ctx, m)
			require.NoError(t, err)
			files, err := ClusterAPICRDsOf(ctx, m)
			require.NoError(t, err)
			want := map[string]string{
				"cluster.x-k8s.io_clusters.yaml":                          core[m],
				"cluster.x-k8s.io_machines.yaml":                          core[m],
				"bootstrap.cluster.x-k8s.io_kubeadmconfigs.yaml":          "bootstrap/kubeadm/config/crd/bases",
				"controlplane.cluster.x-k8s.io_kubeadmcontrolplanes.yaml": "controlplane/kubeadm/config/crd/bases",
			}
			got := map[string]string{}
			for _, f := range files {
				rel, err := filepath.Rel(root, f)
				require.NoError(t, err, "%s is outside %s", f, root)
				got[filepath.Base(f)] = filepath.Dir(rel)
			}
			for base, dir := range want {
				require.Equal(t, dir, got[base], "%s in %s", base, m)
			}
			all, err := AllCRDsWith(ctx, m)
			require.NoError(t, err)
			require.Subset(t, all, files)
			require.Greater(t, len(all), len(files), "the Metal3 CRDs are added")
		})
	}
}

func TestIronicAndExamples(t *testing.T) {
	ctx := context.Background()
	d, err := IronicDeployment(ctx)
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(d, "components", "keepalived", "keepalived_patch.yaml"))
	require.FileExists(t, filepath.Join(d, "base", "ironic.yaml"))
	ex, err := CAPM3Examples(ctx)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(ex, "examples"))
}

func TestUnknownVersionIsAClearError(t *testing.T) {
	_, err := Dir(context.Background(), Module{Path: "sigs.k8s.io/cluster-api", Version: "v0.0.0-does-not-exist"})
	require.Error(t, err)
	require.Contains(t, err.Error(), "sigs.k8s.io/cluster-api@v0.0.0-does-not-exist")
}
