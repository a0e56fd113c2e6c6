package move

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/internal/test/upstream"
)

// hostStatuses reads every host's status in ns.
func hostStatuses(t *testing.T, c client.Client, ns string) map[string]bmov1alpha1.BareMetalHostStatus {
	t.Helper()
	hosts := &bmov1alpha1.BareMetalHostList{}
	require.NoError(t, c.List(context.Background(), hosts, client.InNamespace(ns)))
	out := map[string]bmov1alpha1.BareMetalHostStatus{}
	for _, h := range hosts.Items {
		out[h.Name] = h.Status
	}
	return out
}

// requireMoved checks every fixture object is in to exactly once and gone from from.
func requireMoved(t *testing.T, res *fixture.Result, from, to *testenv.Cluster) {
	t.Helper()
	inTo, inFrom := present(t, to.Client, res.Objects), present(t, from.Client, res.Objects)
	for _, r := range res.Objects {
		require.True(t, inTo[r], "%s missing in %s", r, to.Name)
		require.False(t, inFrom[r], "%s still in %s", r, from.Name)
	}
}

// requireHostsRestored checks that every host in c has the status it had
// before the move, no status annotation and no pivotcheck pause.
func requireHostsRestored(t *testing.T, c client.Client, ns string, before map[string]bmov1alpha1.BareMetalHostStatus) {
	t.Helper()
	hosts := &bmov1alpha1.BareMetalHostList{}
	require.NoError(t, c.List(context.Background(), hosts, client.InNamespace(ns)))
	require.Len(t, hosts.Items, len(before))
	for _, h := range hosts.Items {
		b := before[h.Name]
		require.Equal(t, b.Provisioning.State, h.Status.Provisioning.State, h.Name)
		require.Equal(t, b.OperationalStatus, h.Status.OperationalStatus, h.Name)
		require.Equal(t, b.PoweredOn, h.Status.PoweredOn, h.Name)
		require.Equal(t, b.Provisioning.ID, h.Status.Provisioning.ID, h.Name)
		require.NotNil(t, h.Status.HardwareDetails, h.Name)
		require.NotContains(t, h.Annotations, bmov1alpha1.StatusAnnotation, h.Name)
		require.NotContains(t, h.Annotations, bmov1alpha1.PausedAnnotation, h.Name)
	}
}

func baseOptions(t *testing.T, ns string, from, to *testenv.Cluster) Options {
	return Options{
		Source: target(from), Target: target(to), Namespace: ns,
		Preflight: noPreflight, BackupDir: filepath.Join(t.TempDir(), "backup"),
		WaitForHosts: true, HostTimeout: 2 * time.Minute, TargetIronicTimeout: 20 * time.Second,
		// The stand-in BMO adopts at once and never fails later: a short
		// settle keeps the wait exercised without 20 s per move.
		HostSettle:        2 * time.Second,
		IronicGoneTimeout: 20 * time.Second, PollInterval: 100 * time.Millisecond,
		Out: &testWriter{t: t}, Log: testLog(t), ResumeCommand: "pivotcheck move --resume",
	}
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestMoveTenMachinesAndBack is the end-to-end pivot: 10 machines and 2
// spare hosts move to the target with every phase, the stand-in BMO there
// restores each host's status from the annotation, and move-back brings
// everything home the same way. Once with each Cluster API release's CRDs.
func TestMoveTenMachinesAndBack(t *testing.T) {
	needEnv(t)
	testenv.ForEachClusterAPI(t, &pair, func(t *testing.T, _ upstream.Module) { moveTenMachinesAndBack(t) })
}

func moveTenMachinesAndBack(t *testing.T) {
	ctx := t.Context()
	const ns = "e2e"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 3, Workers: 7, SpareHosts: 2})
	require.NoError(t, err)
	before := hostStatuses(t, pair.Bootstrap.Client, ns)
	bmoStandIn(ctx, t, pair.Bootstrap.Client, ns)
	bmoStandIn(ctx, t, pair.Target.Client, ns)

	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	opts.DeleteSourceBMO = true
	var out bytes.Buffer
	opts.Out = &out
	rep, err := Run(ctx, opts)
	t.Log(out.String())
	require.NoError(t, err, "report: %+v", rep)
	require.True(t, rep.Completed)
	require.True(t, rep.Verified)
	require.Equal(t, toObjects(res.Objects), rep.Objects)
	require.Equal(t, len(res.Objects), rep.Created)
	require.Equal(t, len(res.Objects), rep.Deleted)
	require.Equal(t, 12, rep.CountsByKind["BareMetalHost.metal3.io"])
	require.Empty(t, rep.LeftBehind)
	for _, p := range []string{PhasePreflight, PhaseIronic, PhaseHosts, PhaseBackup, PhaseMove, PhaseVerify} {
		require.Equal(t, statusOK, rep.Phase(p).Status, p)
	}
	require.Equal(t, statusSkipped, rep.Phase(PhaseOwners).Status)
	require.Contains(t, out.String(), "Creating objects in the target cluster: ") // progress lines were printed
	requireMoved(t, res, pair.Bootstrap, pair.Target)
	requireHostsRestored(t, pair.Target.Client, ns, before)
	cl := &clusterv1.Cluster{}
	require.NoError(t, pair.Target.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "test1"}, cl))
	require.False(t, ptr.Deref(cl.Spec.Paused, false))

	// The source BMO goes only after a verified move.
	require.Equal(t, statusOK, rep.Phase(PhaseDeleteBMO).Status)
	err = pair.Bootstrap.Client.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: "baremetal-operator-controller-manager"}, &appsv1.Deployment{})
	require.True(t, apierrors.IsNotFound(err), "source BMO still there: %v", err)

	// The source Ironic was deleted before anything moved.
	err = pair.Bootstrap.Client.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, &appsv1.Deployment{})
	require.True(t, apierrors.IsNotFound(err), "source Ironic still there: %v", err)

	// The backup holds every object, files 0600, hosts with the annotation.
	entries, err := os.ReadDir(filepath.Join(opts.BackupDir, BackupObjectsDir))
	require.NoError(t, err)
	require.Len(t, entries, len(res.Objects))
	for _, e := range entries {
		info, err := e.Info()
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), e.Name())
		if strings.HasPrefix(e.Name(), "BareMetalHost.metal3.io_") {
			raw, err := os.ReadFile(filepath.Join(opts.BackupDir, BackupObjectsDir, e.Name()))
			require.NoError(t, err)
			h := &bmov1alpha1.BareMetalHost{}
			require.NoError(t, json.Unmarshal(raw, h))
			require.Equal(t, hostsafety.PivotcheckPauseValue, h.Annotations[bmov1alpha1.PausedAnnotation], e.Name())
			require.NotEmpty(t, h.Annotations[bmov1alpha1.StatusAnnotation], e.Name())
		}
	}
	readme, err := os.ReadFile(filepath.Join(opts.BackupDir, backupReadme))
	require.NoError(t, err)
	require.Contains(t, string(readme), "CREDENTIALS")

	// JSON report round-trips.
	raw, err := json.Marshal(rep)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"verified":true`)

	// Move back, as Metal3's CI does: the target is now the source. The
	// bootstrap's Ironic comes back first (the driver waits for it).
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	capiStandIn(t, pair.Target.Client, ns)
	back := baseOptions(t, ns, pair.Target, pair.Bootstrap)
	rep, err = Run(ctx, back)
	require.NoError(t, err, "report: %+v", rep)
	require.True(t, rep.Verified)
	require.Equal(t, toObjects(res.Objects), rep.Objects)
	requireMoved(t, res, pair.Target, pair.Bootstrap)
	requireHostsRestored(t, pair.Bootstrap.Client, ns, before)
}

// TestDryRunChangesNothing: the plan is clusterctl's list and no object in
// either cluster changes (resourceVersions equal), no backup is written.
func TestDryRunChangesNothing(t *testing.T) {
	needEnv(t)
	ctx := context.Background()
	const ns = "dry"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", false)
	res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, Workers: 2, SpareHosts: 1})
	require.NoError(t, err)
	rv := resourceVersions(t, ns)
	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	opts.DryRun, opts.FixOwners = true, true
	rep, err := Run(ctx, opts)
	require.NoError(t, err)
	require.Equal(t, toObjects(res.Objects), rep.Objects)
	require.Equal(t, rv, resourceVersions(t, ns))
	_, err = os.Stat(opts.BackupDir)
	require.True(t, os.IsNotExist(err))
	var out bytes.Buffer
	rep.WriteTable(&out)
	require.Contains(t, out.String(), "BareMetalHost.metal3.io "+ns+"/test1-host-0")
	require.Contains(t, out.String(), "nothing changed")
}

// TestPreflightFailureStopsBeforeAnyWrite: a blocking finding ends the run
// in phase preflight with nothing changed on either side.
func TestPreflightFailureStopsBeforeAnyWrite(t *testing.T) {
	needEnv(t)
	ctx := context.Background()
	const ns = "preflight"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", false)
	_, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1,
		Faults: fixture.Faults{HostState: map[int]bmov1alpha1.ProvisioningState{0: bmov1alpha1.StateProvisioning}}})
	require.NoError(t, err)
	rv := resourceVersions(t, ns)
	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	var gotSkip []string
	opts.SkipChecks = []string{"ironic-keepalived"}
	opts.Preflight = func(_ context.Context, skip []string) ([]string, []string, error) {
		gotSkip = skip
		return []string{"host-state BareMetalHost preflight/test1-host-0: is provisioning"}, nil, nil
	}
	rep, err := Run(ctx, opts)
	var pe *PhaseError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, PhasePreflight, pe.Phase)
	require.Equal(t, PhasePreflight, rep.FailedPhase)
	require.Equal(t, []string{"ironic-keepalived"}, gotSkip)
	require.Empty(t, rep.ResumeCommand)
	require.Equal(t, rv, resourceVersions(t, ns))
	_, err = os.Stat(opts.BackupDir)
	require.True(t, os.IsNotExist(err))

	// A preflight that cannot check also stops the run.
	opts.Preflight = func(context.Context, []string) ([]string, []string, error) {
		return nil, nil, errors.New("target unreachable")
	}
	_, err = Run(ctx, opts)
	require.ErrorContains(t, err, "target unreachable")
	require.Equal(t, rv, resourceVersions(t, ns))
}

func TestCountDistinct(t *testing.T) {
	plan := []mover.Object{
		{Group: "ipam.cluster.x-k8s.io", Kind: "IPAddress", Namespace: "ns", Name: "a"},
		{Group: "ipam.metal3.io", Kind: "IPAddress", Namespace: "ns", Name: "a"},
		{Group: "metal3.io", Kind: "BareMetalHost", Namespace: "ns", Name: "h"},
	}
	// clusterctl logged the host three times (retries) and the name shared
	// by both IPAddresses twice: three distinct objects.
	logged := map[mover.Object]bool{{Kind: "BareMetalHost", Namespace: "ns", Name: "h"}: true, {Kind: "IPAddress", Namespace: "ns", Name: "a"}: true}
	require.Equal(t, 3, countDistinct(plan, logged))
	require.Equal(t, 0, countDistinct(plan, nil))
}
