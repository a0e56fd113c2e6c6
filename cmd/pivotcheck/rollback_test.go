package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/pivotcheck/move"
)

// TestRollbackCommand: a move that fails after the Ironic hand-over (the
// target's Ironic never becomes available) is rolled back by the command:
// the source Ironic is back with the spec it had, the hosts carry neither
// pivotcheck's pause nor its status annotation, and the move's backup
// folder can no longer be resumed.
func TestRollbackCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("needs envtest")
	}
	ctx := context.Background()
	pair := startMovePair(ctx, t, 1)
	src, dst := pair.Bootstrap.Client, pair.Target.Client
	const ns = "rollback"
	_, err := fixture.Build(ctx, src, fixture.Options{Namespace: ns, ControlPlane: 1, SpareHosts: 1})
	require.NoError(t, err)
	before := &appsv1.Deployment{}
	require.NoError(t, src.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, before))
	// The target's Ironic is not available: the hand-over's wait fails.
	d := &appsv1.Deployment{}
	require.NoError(t, dst.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, d))
	d.Status = appsv1.DeploymentStatus{}
	require.NoError(t, dst.Status().Update(ctx, d))

	backup := filepath.Join(t.TempDir(), "backup")
	clusters := []string{"--kubeconfig", pair.Bootstrap.Kubeconfig, "--context", pair.Bootstrap.Context,
		"--to-kubeconfig", pair.Target.Kubeconfig, "--to-context", pair.Target.Context, "-n", ns}
	out, err := run(t, append([]string{"move", "--backup-dir", backup, "--target-ironic-timeout", "1s"}, clusters...)...)
	require.Error(t, err, out)
	require.Contains(t, err.Error(), "ironic-handover")
	require.Error(t, src.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, &appsv1.Deployment{}), "the hand-over deleted the source Ironic")

	out, err = run(t, append([]string{"rollback", "--backup-dir", backup, "-o", "json"}, clusters...)...)
	require.NoError(t, err, out)
	var res move.RollbackResult
	require.NoError(t, json.Unmarshal([]byte(lastJSON(out)), &res), out)
	require.True(t, res.Done)
	var acts []string
	for _, a := range res.Actions {
		acts = append(acts, a.Action+" "+a.Object)
	}
	require.ElementsMatch(t, []string{
		"recreate-source-ironic Deployment " + fixture.BMONamespace + "/" + fixture.IronicName,
		"restore-source-host BareMetalHost " + ns + "/test1-host-0",
		"restore-source-host BareMetalHost " + ns + "/test1-host-1",
	}, acts)
	after := &appsv1.Deployment{}
	require.NoError(t, src.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, after))
	require.Equal(t, before.Spec, after.Spec, "the Ironic comes back with the spec it had")
	hosts := &bmov1alpha1.BareMetalHostList{}
	require.NoError(t, src.List(ctx, hosts, client.InNamespace(ns)))
	for _, h := range hosts.Items {
		require.NotContains(t, h.Annotations, bmov1alpha1.PausedAnnotation, h.Name)
		require.NotContains(t, h.Annotations, bmov1alpha1.StatusAnnotation, h.Name)
	}
	out, err = run(t, append([]string{"move", "--backup-dir", backup, "--resume"}, clusters...)...)
	require.Error(t, err, out)
	require.Contains(t, err.Error()+out, "was rolled back")
}

// lastJSON is the indented JSON document at the end of out (progress and
// log lines, one-line JSON, come first).
func lastJSON(out string) string {
	if strings.HasPrefix(out, "{\n") {
		return out
	}
	if i := strings.LastIndex(out, "\n{\n"); i >= 0 {
		return out[i+1:]
	}
	return out
}
