package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/movelock"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/pivotcheck/move"
)

// snapshotOf records the resourceVersion of every fixture object and every
// Deployment of c: a refused command leaves them all as they were.
func snapshotOf(t *testing.T, c client.Client, refs []fixture.Ref) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, r := range refs {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(r.GVK())
		if err := c.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: r.Name}, u); err == nil {
			out[r.String()] = u.GetResourceVersion()
		}
	}
	deps := &appsv1.DeploymentList{}
	require.NoError(t, c.List(ctx, deps))
	for _, d := range deps.Items {
		out["Deployment "+d.Namespace+"/"+d.Name] = d.ResourceVersion
	}
	return out
}

// moveReport is the -o json report at the end of a command's output
// (progress lines come first on the shared buffer).
func moveReport(t *testing.T, out string) *move.Report {
	t.Helper()
	i := strings.LastIndex(out, "{\n  \"namespace\"")
	require.GreaterOrEqual(t, i, 0, out)
	rep := &move.Report{}
	require.NoError(t, json.NewDecoder(strings.NewReader(out[i:])).Decode(rep), out)
	return rep
}

// TestMoveRefusesOneClusterCLI is the measured accident: $KUBECONFIG is the
// bootstrap and also passed as --to-kubeconfig. move and move-back refuse
// before anything is written, and so does a copy of the kubeconfig with
// another context name and localhost for 127.0.0.1; preflight reports
// same-cluster as an error.
func TestMoveRefusesOneClusterCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("needs envtest")
	}
	ctx := context.Background()
	pair := startMovePair(ctx, t, 1)
	src := pair.Bootstrap.Client
	res, err := fixture.Build(ctx, src, fixture.Options{Namespace: "metal3", ControlPlane: 1, SpareHosts: 1})
	require.NoError(t, err)
	alias := aliasKubeconfig(t, pair.Bootstrap)
	before := snapshotOf(t, src, res.Objects)

	t.Setenv("KUBECONFIG", pair.Bootstrap.Kubeconfig)
	for _, args := range [][]string{
		{"move", "--to-kubeconfig", pair.Bootstrap.Kubeconfig, "-n", "metal3"},
		{"move-back", "--to-kubeconfig", pair.Bootstrap.Kubeconfig, "-n", "metal3"},
		{"move", "--to-kubeconfig", alias, "-n", "metal3", "-o", "json"},
		{"move", "--to-kubeconfig", alias, "-n", "metal3", "--dry-run"},
	} {
		backup := filepath.Join(t.TempDir(), "backup")
		out, err := run(t, append(args, "--backup-dir", backup)...)
		require.Error(t, err, out)
		require.Equal(t, 1, exitCode(err))
		require.Contains(t, err.Error(), "are the same cluster (kube-system Namespace UID", "%v", args)
		require.NotContains(t, out, "resume with", "nothing changed: nothing to resume")
		require.NoDirExists(t, backup)
		require.Equal(t, before, snapshotOf(t, src, res.Objects), "%v wrote something", args)
	}
	out, err := run(t, "preflight", "--to-kubeconfig", alias, "-n", "metal3", "-o", "json")
	require.Error(t, err)
	require.Contains(t, out, `"check": "same-cluster"`)
	require.Contains(t, out, `"severity": "error"`)

	// restore holds the same Lease: refused while a (live) run holds it,
	// and refused on a backup folder another run holds.
	backup := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(backup, "objects"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(backup, "objects", "ConfigMap_metal3_restored.yaml"),
		[]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"restored","namespace":"metal3"},"data":{"a":"b"}}`), 0o600))
	now := metav1.NewMicroTime(time.Now())
	require.NoError(t, src.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "metal3", Name: movelock.LeaseName},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("elsewhere/7/cafe"), LeaseDurationSeconds: ptr.To(int32(40)), AcquireTime: &now, RenewTime: &now}}))
	_, err = run(t, "restore", "--from", backup, "--to-kubeconfig", pair.Bootstrap.Kubeconfig)
	require.ErrorContains(t, err, "Lease metal3/pivotcheck-move is held by elsewhere/7/cafe since")
	require.ErrorContains(t, err, "nothing was changed")
	require.True(t, apierrors.IsNotFound(src.Get(ctx, client.ObjectKey{Namespace: "metal3", Name: "restored"}, &corev1.ConfigMap{})))
	require.NoError(t, src.Delete(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "metal3", Name: movelock.LeaseName}}))
	held, err := movelock.LockFolder(backup, "elsewhere/8/beef")
	require.NoError(t, err)
	_, err = run(t, "restore", "--from", backup, "--to-kubeconfig", pair.Bootstrap.Kubeconfig)
	require.ErrorContains(t, err, "is in use by another pivotcheck run (elsewhere/8/beef)")
	require.NoError(t, held.Unlock())
	require.True(t, apierrors.IsNotFound(src.Get(ctx, client.ObjectKey{Namespace: "metal3", Name: "restored"}, &corev1.ConfigMap{})))
	require.Equal(t, before, snapshotOf(t, src, res.Objects))
}

// aliasKubeconfig writes the cluster's kubeconfig again under another
// context name and with localhost for 127.0.0.1 (envtest's certificate
// names both).
func aliasKubeconfig(t *testing.T, c *testenv.Cluster) string {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(c.Kubeconfig)
	require.NoError(t, err)
	kctx := kc.Contexts[c.Context]
	cl := kc.Clusters[kctx.Cluster]
	cl.Server = strings.Replace(cl.Server, "127.0.0.1", "localhost", 1)
	delete(kc.Contexts, c.Context)
	kc.Contexts["prod-looking-name"] = kctx
	kc.CurrentContext = "prod-looking-name"
	path := filepath.Join(t.TempDir(), "alias.kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*kc, path))
	return path
}

// TestResumeRerunsHostSafety: a move fails after its host hand-over (the
// target's Ironic never becomes available); meanwhile a spare host starts
// provisioning. The printed resume command (every resolved value pinned)
// refuses in preflight with nothing written; once the host is steady and
// the target's Ironic runs, the same command completes. The hosts
// pivotcheck paused with their status annotation block nothing.
func TestResumeRerunsHostSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("needs envtest")
	}
	ctx := context.Background()
	pair := startMovePair(ctx, t, 1)
	src, dst := pair.Bootstrap.Client, pair.Target.Client
	res, err := fixture.Build(ctx, src, fixture.Options{Namespace: "metal3", ControlPlane: 1, SpareHosts: 1})
	require.NoError(t, err)
	targetIronic := func(available int32) {
		d := &appsv1.Deployment{}
		require.NoError(t, dst.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, d))
		d.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: available, AvailableReplicas: available, UpdatedReplicas: 1}
		require.NoError(t, dst.Status().Update(ctx, d))
	}
	targetIronic(0)
	out, err := run(t, "move", "--kubeconfig", pair.Bootstrap.Kubeconfig, "--to-kubeconfig", pair.Target.Kubeconfig,
		"-n", "metal3", "--target-ironic-timeout", "2s", "-o", "json", "--backup-dir", filepath.Join(t.TempDir(), "backup"))
	require.Error(t, err, out)
	rep := moveReport(t, out)
	require.Equal(t, move.PhaseIronic, rep.FailedPhase, rep.Error)
	for _, want := range []string{"--kubeconfig=" + pair.Bootstrap.Kubeconfig, "--kubeconfig-context=" + pair.Bootstrap.Context,
		"--to-kubeconfig-context=" + pair.Target.Context, "--namespace=metal3", "--ironic-handover=delete", "--ironic-stop-timeout=5m0s", "--resume"} {
		require.Contains(t, strings.Fields(rep.ResumeCommand), want)
	}
	resume := strings.Fields(rep.ResumeCommand)[1:] // no quoting in these test paths

	spare := &bmov1alpha1.BareMetalHost{}
	hosts := &bmov1alpha1.BareMetalHostList{}
	require.NoError(t, src.List(ctx, hosts, client.InNamespace("metal3")))
	for i := range hosts.Items {
		h := &hosts.Items[i]
		require.Equal(t, "pivotcheck.dev/move", h.Annotations[bmov1alpha1.PausedAnnotation], "%s handed over by the first attempt", h.Name)
		if h.Spec.ConsumerRef == nil {
			spare = h
		}
	}
	require.NotEmpty(t, spare.Name)
	steady := spare.Status.Provisioning.State
	spare.Status.Provisioning.State = bmov1alpha1.StateProvisioning
	require.NoError(t, src.Status().Update(ctx, spare))
	targetIronic(1)

	before := snapshotOf(t, src, res.Objects)
	beforeDst := snapshotOf(t, dst, res.Objects)
	out, err = run(t, resume...)
	require.Error(t, err, out)
	rep = moveReport(t, out)
	require.Equal(t, move.PhasePreflight, rep.FailedPhase, rep.Error)
	require.Contains(t, rep.Error, "[host-in-progress] BareMetalHost metal3/"+spare.Name)
	require.Contains(t, rep.Error, "1 blocking finding(s)", "the hosts pivotcheck paused block nothing")
	require.Equal(t, before, snapshotOf(t, src, res.Objects), "the refused resume wrote nothing in the source")
	require.Equal(t, beforeDst, snapshotOf(t, dst, res.Objects), "the refused resume wrote nothing in the target")

	require.NoError(t, src.Get(ctx, client.ObjectKeyFromObject(spare), spare))
	spare.Status.Provisioning.State = steady
	require.NoError(t, src.Status().Update(ctx, spare))
	out, err = run(t, resume...)
	require.NoError(t, err, out)
	require.True(t, moveReport(t, out).Verified)
	for _, r := range res.Objects {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(r.GVK())
		require.NoError(t, dst.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: r.Name}, u), "%s moved", r)
	}
}
