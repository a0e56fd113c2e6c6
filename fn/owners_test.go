package fn

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	secretutil "sigs.k8s.io/cluster-api/util/secret"
)

// The function's soft-owned Secret suffixes are exactly the names
// clusterctl's soft ownership parses (cluster-api's util/secret).
func TestSoftOwnedSuffixesAreClusterAPIs(t *testing.T) {
	purposes := []secretutil.Purpose{secretutil.Kubeconfig, secretutil.ClusterCA, secretutil.EtcdCA, secretutil.ServiceAccount, secretutil.FrontProxyCA, secretutil.APIServerEtcdClient}
	require.Len(t, softOwnedSuffixes, len(purposes))
	for _, p := range purposes {
		require.True(t, slices.Contains(softOwnedSuffixes, string(p)), "suffix %q", p)
		c, got, err := secretutil.ParseSecretName("c1-" + string(p))
		require.NoError(t, err)
		require.Equal(t, "c1", c)
		require.Equal(t, p, got)
	}
	// A name cluster-api does not parse is not soft-owned by clusterctl.
	_, _, err := secretutil.ParseSecretName("c1-bmc-secret")
	require.Error(t, err)
}
