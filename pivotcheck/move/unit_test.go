package move

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/mover"
)

func TestParseClusterctlLine(t *testing.T) {
	e, ok := ParseClusterctlLine(`Creating BareMetalHost="test1-host-0" Namespace="metal3"`)
	require.True(t, ok)
	require.Equal(t, mover.Creating, e.Action)
	require.Equal(t, mover.Object{Kind: "BareMetalHost", Namespace: "metal3", Name: "test1-host-0"}, e.Object)
	e, ok = ParseClusterctlLine("Creating objects in the target cluster")
	require.True(t, ok)
	require.Equal(t, "Creating objects in the target cluster", e.Phase)
	_, ok = ParseClusterctlLine("Discovering Cluster API objects")
	require.False(t, ok)
	require.Equal(t, []string{"move", "--namespace", "ns", "-v", "1", "--kubeconfig", "a", "--kubeconfig-context", "ca", "--to-kubeconfig", "b"},
		clusterctlArgs(Options{Namespace: "ns", Source: target0("a", "ca"), Target: target0("b", "")}))
}
