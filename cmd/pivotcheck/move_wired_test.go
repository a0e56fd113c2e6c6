package main

import (
	"context"
	"path/filepath"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/upstream"
)

// TestMoveRunsRealPreflight drives `pivotcheck move` with the real preflight
// engine wired in: a busy host stops it before any write, an orphan that
// --fix-owners cannot repair stops it before the source Ironic is touched,
// and a source Ironic plus a repairable orphan is what a normal pivot looks
// like, so that one moves. Once with each Cluster API release's CRDs.
func TestMoveRunsRealPreflight(t *testing.T) {
	if testing.Short() {
		t.Skip("needs envtest")
	}
	for _, capi := range upstream.ClusterAPIReleases {
		t.Run(capi.Version, func(t *testing.T) { moveRunsRealPreflight(t, capi) })
	}
}

func moveRunsRealPreflight(t *testing.T, capi upstream.Module) {
	ctx := context.Background()
	pair := startMovePairWith(ctx, t, 1, capi)
	src, dst := pair.Bootstrap.Client, pair.Target.Client

	args := func(ns string, extra ...string) []string {
		return append([]string{"move", "--kubeconfig", pair.Bootstrap.Kubeconfig, "--context", pair.Bootstrap.Context,
			"--to-kubeconfig", pair.Target.Kubeconfig, "--to-context", pair.Target.Context, "-n", ns,
			"--backup-dir", filepath.Join(t.TempDir(), "backup"), "--target-ironic-timeout", "20s"}, extra...)
	}
	sourceIronic := func() error {
		return src.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, &appsv1.Deployment{})
	}
	unpaused := func(ns string) {
		cl := &clusterv1.Cluster{}
		require.NoError(t, src.Get(ctx, client.ObjectKey{Namespace: ns, Name: "test1"}, cl))
		require.False(t, ptr.Deref(cl.Spec.Paused, false), "source Cluster in %s must stay unpaused", ns)
	}

	// 1. A provisioning host: preflight refuses, nothing is written.
	_, err := fixture.Build(ctx, src, fixture.Options{Namespace: "busy",
		Faults: fixture.Faults{HostState: map[int]bmov1alpha1.ProvisioningState{0: bmov1alpha1.StateProvisioning}}})
	require.NoError(t, err)
	out, err := run(t, args("busy")...)
	require.Error(t, err, out)
	require.Contains(t, err.Error()+out, "host-in-progress")
	require.NoError(t, sourceIronic(), "the source Ironic must be untouched")
	unpaused("busy")
	h := &bmov1alpha1.BareMetalHost{}
	require.NoError(t, src.Get(ctx, client.ObjectKey{Namespace: "busy", Name: "test1-host-0"}, h))
	require.NotContains(t, h.Annotations, bmov1alpha1.StatusAnnotation, "no host hand-over before preflight passes")

	// 2. An owner that is never moved (#8387): --fix-owners cannot repair
	// it, so the re-check stops the move before the Ironic hand-over.
	_, err = fixture.Build(ctx, src, fixture.Options{Namespace: "dangling", Faults: fixture.Faults{DanglingOwner: true}})
	require.NoError(t, err)
	out, err = run(t, args("dangling", "--fix-owners")...)
	require.Error(t, err, out)
	require.Contains(t, err.Error()+out, "would still be left behind")
	require.Contains(t, err.Error()+out, "test1-addons")
	require.NoError(t, sourceIronic(), "a refused move must not remove the source Ironic")
	unpaused("dangling")

	// 3. The normal case: Ironic still runs in the source (the hand-over
	// removes it) and a user-data Secret has no owner (--fix-owners).
	_, err = fixture.Build(ctx, src, fixture.Options{Namespace: "pivot", Faults: fixture.Faults{OrphanUserDataSecret: true}})
	require.NoError(t, err)
	out, err = run(t, args("pivot", "--fix-owners")...)
	require.NoError(t, err, out)
	// The preflight offered its plan (move.OfferPlan); the repair wrote,
	// so the backup planned again instead of reusing it.
	require.Contains(t, out, "clusterctl's plan computed again (the owner repair changed ownerReferences)")
	require.True(t, apierrors.IsNotFound(sourceIronic()), "the hand-over deletes the source Ironic")
	require.NoError(t, dst.Get(ctx, client.ObjectKey{Namespace: "pivot", Name: fixture.OrphanSecretName}, &corev1.Secret{}),
		"the repaired Secret moved with its host")
	require.NoError(t, dst.Get(ctx, client.ObjectKey{Namespace: "pivot", Name: "test1-host-0"}, h))
	require.Contains(t, h.Annotations, bmov1alpha1.StatusAnnotation)
}
