package move

import (
	"context"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

// labelCRD adds a label to a CRD in both clusters for the test's duration.
func labelCRD(t *testing.T, name, label string) {
	t.Helper()
	ctx := context.Background()
	for _, c := range []client.Client{pair.Bootstrap.Client, pair.Target.Client} {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		require.NoError(t, c.Get(ctx, client.ObjectKey{Name: name}, crd))
		if _, ok := crd.Labels[label]; ok {
			continue
		}
		patch := client.MergeFrom(crd.DeepCopy())
		crd.Labels[label] = ""
		require.NoError(t, c.Patch(ctx, crd, patch))
		t.Cleanup(func() {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			require.NoError(t, c.Get(ctx, client.ObjectKey{Name: name}, crd))
			patch := client.MergeFrom(crd.DeepCopy())
			delete(crd.Labels, label)
			require.NoError(t, c.Patch(ctx, crd, patch))
		})
	}
}

// With CAPM3 1.14 every consumed host carries block-move until CAPM3 has
// paused it with its status. pivotcheck pauses hosts before clusterctl
// pauses the Cluster; 1.14's SetPauseAnnotation then lifts block-move from
// the already paused host, so the early pause does not strand the move:
// clusterctl waits a few seconds, copies every host with pivotcheck's
// status annotation, and the target's BMO adopts them.
func TestMoveWithCAPM3v114(t *testing.T) {
	needEnv(t)
	ctx := t.Context()
	const ns = "capm3-114"
	// CAPM3 1.14's Metal3DataTemplate CRD carries the move label (its
	// templates have no Cluster owner any more).
	labelCRD(t, "metal3datatemplates.infrastructure.cluster.x-k8s.io", testenv.LabelMove)
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 2, Workers: 1, SpareHosts: 1, CAPM3v114: true})
	require.NoError(t, err)
	consumed := res.Hosts[:3]
	before := hostStatuses(t, pair.Bootstrap.Client, ns)
	for _, side := range []*testenv.Cluster{pair.Bootstrap, pair.Target} {
		fixture.RunCAPM3v114(ctx, side.Client, ns, 100*time.Millisecond, func(err error) { t.Logf("CAPM3 1.14 stand-in on %s: %v", side.Name, err) })
	}
	bmoStandIn(ctx, t, pair.Target.Client, ns)
	hosts := &bmov1alpha1.BareMetalHostList{}
	require.NoError(t, pair.Bootstrap.Client.List(ctx, hosts, client.InNamespace(ns)))
	blocked := 0
	for _, h := range hosts.Items {
		if _, ok := h.Annotations[fixture.BlockMoveAnnotation]; ok {
			blocked++
		}
	}
	require.Equal(t, len(consumed), blocked, "every consumed host is blocked before the move")

	// What the source hosts look like when clusterctl pauses the Cluster
	// (pivotcheck's early pause, still blocked) and when it creates the
	// first object (block-move lifted by CAPM3 from the paused hosts).
	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	var firstCreate time.Time
	var atPause, atCreate map[string]map[string]string
	annotations := func() map[string]map[string]string {
		l := &bmov1alpha1.BareMetalHostList{}
		require.NoError(t, pair.Bootstrap.Client.List(ctx, l, client.InNamespace(ns)))
		out := map[string]map[string]string{}
		for _, h := range l.Items {
			out[h.Name] = h.Annotations
		}
		return out
	}
	opts.OnEvent = func(e mover.Event) {
		switch {
		case e.Phase == "Pausing the source cluster" && atPause == nil:
			atPause = annotations()
		case e.Action == mover.Creating && firstCreate.IsZero():
			firstCreate = time.Now()
			atCreate = annotations()
		}
	}
	start := time.Now()
	rep, err := Run(ctx, opts)
	require.NoError(t, err, "report: %+v", rep)
	require.True(t, rep.Verified)
	t.Logf("move of %d objects took %s; first create after %s (clusterctl waited for block-move)", len(rep.Objects), time.Since(start).Round(time.Millisecond), firstCreate.Sub(start).Round(time.Millisecond))
	require.Equal(t, toObjects(res.Objects), rep.Objects, "the template moved through its CRD's label, every host through move-hierarchy")
	for _, name := range consumed {
		require.Equal(t, hostsafety.PivotcheckPauseValue, atPause[name][bmov1alpha1.PausedAnnotation], name)
		require.Contains(t, atPause[name], fixture.BlockMoveAnnotation, "%s: paused early and still blocked", name)
		require.NotContains(t, atCreate[name], fixture.BlockMoveAnnotation, "%s: CAPM3 lifted block-move from the paused host", name)
		require.Equal(t, hostsafety.PivotcheckPauseValue, atCreate[name][bmov1alpha1.PausedAnnotation], name)
		require.Contains(t, atCreate[name], bmov1alpha1.StatusAnnotation, name)
	}
	requireMoved(t, res, pair.Bootstrap, pair.Target)

	// Adopted with the status it had; once pivotcheck's pause is gone,
	// CAPM3 1.14 in the target blocks moves of the consumed hosts again.
	got := hostStatuses(t, pair.Target.Client, ns)
	for name, st := range before {
		require.Equal(t, st.Provisioning.State, got[name].Provisioning.State, name)
		require.Equal(t, st.Provisioning.ID, got[name].Provisioning.ID, name)
	}
	require.Eventually(t, func() bool {
		l := &bmov1alpha1.BareMetalHostList{}
		if err := pair.Target.Client.List(ctx, l, client.InNamespace(ns)); err != nil {
			return false
		}
		n := 0
		for _, h := range l.Items {
			if _, ok := h.Annotations[fixture.BlockMoveAnnotation]; ok {
				n++
			}
		}
		return n == len(consumed)
	}, 10*time.Second, 100*time.Millisecond)
}
