package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/internal/test/upstream"
)

// startMovePair starts a bootstrap and a target API server ready for a
// move: BMO and the providers installed on both, sourceIronic replicas of
// Ironic in the bootstrap, BMO's webhook registered in the target and the
// target's Ironic reported available (no controller runs in envtest). HOME
// moves to a temporary folder because clusterctl writes under it. The pair
// stops when the test ends. The CRDs are the linked Cluster API release's.
func startMovePair(ctx context.Context, t *testing.T, sourceIronic int32) *testenv.Pair {
	t.Helper()
	return startMovePairWith(ctx, t, sourceIronic, upstream.ClusterAPI)
}

// startMovePairWith is startMovePair with the CRDs of the Cluster API release capi.
func startMovePairWith(ctx context.Context, t *testing.T, sourceIronic int32, capi upstream.Module) *testenv.Pair {
	t.Helper()
	assets, err := testenv.AssetsDir()
	require.NoError(t, err)
	t.Setenv("KUBEBUILDER_ASSETS", assets)
	testenv.PinGoCaches(t)
	t.Setenv("HOME", t.TempDir())
	pair, err := testenv.StartPair(ctx,
		testenv.Options{LabelCRD: testenv.LabelLikeClusterctl, ClusterAPI: capi},
		testenv.Options{LabelCRD: testenv.LabelLikeClusterctl, ClusterAPI: capi})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pair.Stop() })
	src, dst := pair.Bootstrap.Client, pair.Target.Client
	for side, replicas := range map[client.Client]int32{src: sourceIronic, dst: 1} {
		require.NoError(t, fixture.InstallManagement(ctx, side, fixture.Management{
			Ironic: ptr.To(replicas), Keepalived: true, BMOVersion: fixture.BMODefaultVersion, Providers: fixture.CAPIProviders()}))
	}
	require.NoError(t, fixture.InstallBMOWebhook(ctx, dst, admissionregistrationv1.Ignore))
	d := &appsv1.Deployment{}
	require.NoError(t, dst.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, d))
	d.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, UpdatedReplicas: 1}
	require.NoError(t, dst.Status().Update(ctx, d))
	return pair
}
