package move

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

// sameNamedIPs are two IPAddress objects called "shared-ip", one per IPAM
// API group, both labelled to move.
var sameNamedIPs = []fixture.Ref{
	{APIVersion: "ipam.cluster.x-k8s.io/v1beta2", Kind: "IPAddress", Name: "shared-ip"},
	{APIVersion: "ipam.metal3.io/v1alpha1", Kind: "IPAddress", Name: "shared-ip"},
}

// addSameNamedIPs creates sameNamedIPs in ns and returns their refs.
func addSameNamedIPs(t testing.TB, c client.Client, ns string) []fixture.Ref {
	t.Helper()
	specs := []map[string]any{
		{"address": "192.168.10.5", "prefix": int64(24), "claimRef": map[string]any{"name": "claim"},
			"poolRef": map[string]any{"apiGroup": "ipam.cluster.x-k8s.io", "kind": "InClusterIPPool", "name": "pool"}},
		{"address": "192.168.10.5", "prefix": int64(24), "claim": map[string]any{"name": "claim"}, "pool": map[string]any{"name": "pool"}},
	}
	var out []fixture.Ref
	for i, r := range sameNamedIPs {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": r.APIVersion, "kind": r.Kind, "spec": specs[i]}}
		u.SetNamespace(ns)
		u.SetName(r.Name)
		u.SetLabels(map[string]string{clusterctlv1.ClusterctlMoveLabel: ""})
		require.NoError(t, c.Create(context.Background(), u))
		r.Namespace = ns
		out = append(out, r)
	}
	return out
}

// TestSameNamedObjectsOfTwoGroups: two IPAddress objects with one name,
// one in ipam.cluster.x-k8s.io and one in ipam.metal3.io, are two objects
// in the plan, two files in the backup, two objects verified in the target
// and two in the counts; a restore -n brings both back.
func TestSameNamedObjectsOfTwoGroups(t *testing.T) {
	needEnv(t)
	ctx := context.Background()
	const ns = "two-groups"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1})
	require.NoError(t, err)
	ips := addSameNamedIPs(t, pair.Bootstrap.Client, ns)
	all := append(append([]fixture.Ref(nil), res.Objects...), ips...)

	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	opts.WaitForHosts = false
	rep, err := Run(ctx, opts)
	require.NoError(t, err, "report: %+v", rep)
	require.True(t, rep.Verified)
	require.Equal(t, toObjects(all), rep.Objects)
	require.Equal(t, 1, rep.CountsByKind["IPAddress.ipam.cluster.x-k8s.io"])
	require.Equal(t, len(all), rep.Created, "distinct objects, both IPAddresses counted")
	require.Equal(t, len(all), rep.Deleted)
	for _, r := range ips {
		_, err := os.Stat(filepath.Join(opts.BackupDir, BackupObjectsDir, backupFileName(mover.Object{Group: r.GVK().Group, Kind: r.Kind, Namespace: ns, Name: r.Name})))
		require.NoError(t, err, "backup file of %s", r)
	}
	requireMoved(t, &fixture.Result{Objects: all}, pair.Bootstrap, pair.Target)

	// restore -n filters: the backup's namespace comes back whole; an
	// unknown namespace is refused before anything is created.
	_, err = Restore(ctx, opts.BackupDir, target(pair.Bootstrap), "no-such-ns", true, nil, testLog(t))
	require.ErrorContains(t, err, "holds no object in namespace no-such-ns (it holds namespace(s) "+ns+")")
	n, err := Restore(ctx, opts.BackupDir, target(pair.Bootstrap), ns, true, nil, testLog(t))
	require.NoError(t, err)
	require.Equal(t, len(all), n)
	back := present(t, pair.Bootstrap.Client, all)
	for _, r := range all {
		require.True(t, back[r], "%s not restored", r)
	}
}

// TestNoSourceIronicRefusedUntilStated: with no Ironic in the source
// cluster the default hand-over refuses with nothing touched, naming BMO's
// endpoint; --ironic-handover=already-removed goes on. A resume after
// pivotcheck stopped the Ironic itself goes on because it recorded it.
func TestNoSourceIronicRefusedUntilStated(t *testing.T) {
	needEnv(t)
	ctx := context.Background()
	const ns = "no-ironic"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	_, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1})
	require.NoError(t, err)
	// The bootstrap's Ironic runs elsewhere (kind + local containers).
	ironicDep := &appsv1.Deployment{}
	require.NoError(t, pair.Bootstrap.Client.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, ironicDep))
	require.NoError(t, pair.Bootstrap.Client.Delete(ctx, ironicDep))
	setBMOEndpoint(t, pair.Bootstrap.Client, "https://172.22.0.2:6385/v1/")

	rv := resourceVersions(t, ns)
	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	opts.WaitForHosts = false
	rep, err := Run(ctx, opts)
	var pe *PhaseError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, PhaseChecks, pe.Phase)
	require.ErrorContains(t, err, "its BMO sends Ironic calls to https://172.22.0.2:6385/v1/: pivotcheck cannot tell")
	require.Empty(t, rep.ResumeCommand, "nothing was changed: nothing to resume")
	require.Equal(t, rv, resourceVersions(t, ns), "nothing touched")
	_, err = os.Stat(opts.BackupDir)
	require.True(t, os.IsNotExist(err), "no backup folder written")

	// The statement with a probe: an Ironic answering at BMO's endpoint
	// (a local server standing in for one left running) refuses it.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	setBMOEndpoint(t, pair.Bootstrap.Client, srv.URL+"/v1/")
	rv = resourceVersions(t, ns)
	opts.IronicHandover, opts.ProbeSourceIronic = HandoverAlreadyRemoved, true
	_, err = Run(ctx, opts)
	require.ErrorContains(t, err, "--ironic-handover=already-removed says the source Ironic is stopped, but "+srv.URL+"/v1/nodes answered HTTP 401")
	require.Equal(t, rv, resourceVersions(t, ns), "nothing touched")

	// Once nothing answers there, the probe is evidence and the move goes on.
	srv.Close()
	rep, err = Run(ctx, opts)
	require.NoError(t, err, "report: %+v", rep)
	require.Contains(t, rep.Phase(PhaseChecks).Detail, "stated already removed")
	require.Contains(t, rep.Phase(PhaseChecks).Detail, "did not answer")
}

// TestResumeAfterPivotcheckStoppedIronic: the first attempt stops the
// source Ironic and then fails in the move; the resume finds no Ironic and
// goes on because the backup folder records that pivotcheck stopped it.
func TestResumeAfterPivotcheckStoppedIronic(t *testing.T) {
	needEnv(t)
	ctx := context.Background()
	const ns = "ironic-recorded"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1})
	require.NoError(t, err)
	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	opts.WaitForHosts = false
	rctx, cancel := context.WithCancel(ctx)
	opts.OnPhase = func(p string) {
		if p == PhaseMove {
			cancel()
		}
	}
	_, err = Run(rctx, opts)
	require.ErrorContains(t, err, "phase move failed")
	st, err := readState(opts.BackupDir)
	require.NoError(t, err)
	require.Equal(t, []string{"Deployment " + fixture.BMONamespace + "/" + fixture.IronicName}, st.SourceIronicStopped)

	opts.OnPhase, opts.Resume = nil, true
	rep, err := Run(ctx, opts)
	require.NoError(t, err, "report: %+v", rep)
	require.Contains(t, rep.Phase(PhaseChecks).Detail, "already stopped by this move's first attempt")
	requireMoved(t, res, pair.Bootstrap, pair.Target)
}

// TestHostPatchDryRunRefusesBeforeAnyWrite: the source API server runs
// admission for the server-side dry run of each host patch; a BMO webhook
// that cannot answer (failurePolicy Fail, no BMO serving it) refuses it,
// so the move stops in the checks with Ironic running and no host paused.
func TestHostPatchDryRunRefusesBeforeAnyWrite(t *testing.T) {
	needEnv(t)
	ctx := context.Background()
	const ns = "dry-run-refused"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	_, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, SpareHosts: 1})
	require.NoError(t, err)
	require.NoError(t, fixture.InstallBMOWebhook(ctx, pair.Bootstrap.Client, admissionregistrationv1.Fail))
	defer func() {
		cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		cfg.Name = fixture.BMOWebhookName
		require.NoError(t, client.IgnoreNotFound(pair.Bootstrap.Client.Delete(ctx, cfg)))
	}()
	rv := resourceVersions(t, ns)
	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	// The webhook's failure is a 500, which every write's retries wait
	// out: the same 8 attempts, over about 6 s instead of about 30 s.
	writeBackoffFirst = "50ms"
	t.Cleanup(func() { writeBackoffFirst = "" })
	start := time.Now()
	rep, err := Run(ctx, opts)
	t.Logf("refused after %s", time.Since(start).Round(10*time.Millisecond))
	var pe *PhaseError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, PhaseChecks, pe.Phase)
	require.ErrorContains(t, err, "refused 2 host hand-over patch(es) in a server-side dry run, so nothing was changed")
	require.ErrorContains(t, err, "BareMetalHost "+ns+"/test1-host-0")
	require.Equal(t, rv, resourceVersions(t, ns), "nothing touched")
	require.NoError(t, pair.Bootstrap.Client.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, &appsv1.Deployment{}), "source Ironic untouched")
	require.Contains(t, rep.SourceState, "0 paused by pivotcheck")
	hosts := &bmov1alpha1.BareMetalHostList{}
	require.NoError(t, pair.Bootstrap.Client.List(ctx, hosts, client.InNamespace(ns)))
	for _, h := range hosts.Items {
		require.NotContains(t, h.Annotations, bmov1alpha1.PausedAnnotation, h.Name)
	}
}

// setBMOEndpoint sets IRONIC_ENDPOINT on the BMO manager container of c.
func setBMOEndpoint(t testing.TB, c client.Client, ep string) {
	t.Helper()
	ctx := context.Background()
	dep, _, _, err := bmoDeployment(ctx, c)
	require.NoError(t, err)
	require.NotNil(t, dep)
	for i := range dep.Spec.Template.Spec.Containers {
		ct := &dep.Spec.Template.Spec.Containers[i]
		env := ct.Env[:0]
		for _, e := range ct.Env {
			if e.Name != "IRONIC_ENDPOINT" {
				env = append(env, e)
			}
		}
		ct.Env = append(env, corev1EnvVar("IRONIC_ENDPOINT", ep))
	}
	require.NoError(t, c.Update(ctx, dep))
}
