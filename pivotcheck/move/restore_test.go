package move

import (
	"context"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

// TestRestoreFromBackup: after a move, the backup alone recreates every
// object in the (now empty) bootstrap namespace: Clusters kept paused, or
// unpaused at the end with unpause, hosts with their status annotation
// under pivotcheck's pause.
func TestRestoreFromBackup(t *testing.T) {
	needEnv(t)
	ctx := context.Background()
	const ns = "restore"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, Workers: 1, SpareHosts: 1})
	require.NoError(t, err)
	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	opts.WaitForHosts = false
	_, err = Run(ctx, opts)
	require.NoError(t, err)
	requireMoved(t, res, pair.Bootstrap, pair.Target)

	// By default the restored Clusters stay paused: the target may still
	// manage them.
	n, err := Restore(ctx, opts.BackupDir, target(pair.Bootstrap), ns, false, nil, testLog(t))
	require.NoError(t, err)
	require.Equal(t, len(res.Objects), n)
	back := present(t, pair.Bootstrap.Client, res.Objects)
	for _, r := range res.Objects {
		require.True(t, back[r], "%s not restored", r)
	}
	cl := &clusterv1.Cluster{}
	require.NoError(t, pair.Bootstrap.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "test1"}, cl))
	require.True(t, ptr.Deref(cl.Spec.Paused, false), "restore without --unpause keeps the Cluster paused")

	// With unpause, clusterctl's last step runs: the same restore again
	// (clusterctl updates what exists) ends with the Cluster unpaused.
	n, err = Restore(ctx, opts.BackupDir, target(pair.Bootstrap), ns, true, nil, testLog(t))
	require.NoError(t, err)
	require.Equal(t, len(res.Objects), n)
	require.NoError(t, pair.Bootstrap.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "test1"}, cl))
	require.False(t, ptr.Deref(cl.Spec.Paused, false))
	hosts := &bmov1alpha1.BareMetalHostList{}
	require.NoError(t, pair.Bootstrap.Client.List(ctx, hosts, client.InNamespace(ns)))
	for _, h := range hosts.Items {
		require.Equal(t, hostsafety.PivotcheckPauseValue, h.Annotations[bmov1alpha1.PausedAnnotation], h.Name)
		require.NotEmpty(t, h.Annotations[bmov1alpha1.StatusAnnotation], h.Name)
	}
}
