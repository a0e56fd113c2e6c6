package move

import (
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

func uobj(apiVersion, kind, ns, name, uid string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind}}
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetUID(types.UID(uid))
	return u
}

// rollbackFixture: a move stopped in clusterctl's create step. The source
// holds a paused Cluster, a paused ClusterClass, two hosts pivotcheck
// paused and annotated, one host that kept someone else's pause, and a
// scaled and a deleted Ironic; the target holds a pre-existing Secret and
// two copies clusterctl created.
func rollbackFixture() RollbackInput {
	clusterKey := mover.Object{Group: "cluster.x-k8s.io", Kind: "Cluster", Namespace: "ns", Name: "c1"}
	hostKey := mover.Object{Group: "metal3.io", Kind: "BareMetalHost", Namespace: "ns", Name: "h1"}
	secretKey := mover.Object{Kind: "Secret", Namespace: "ns", Name: "s1"}
	plan := []mover.Object{clusterKey, hostKey, secretKey}
	ann := `{"operationalStatus":"OK"}`
	before := `{"operationalStatus":"discovered"}`
	st := &State{
		Namespace: "ns",
		IronicWorkloads: []IronicRecord{
			{Kind: "Deployment", Namespace: "bmo", Name: "ironic", Action: IronicDeleted, Manifest: "ironic/Deployment_bmo_ironic.yaml"},
			{Kind: "Deployment", Namespace: "bmo", Name: "other", Action: IronicScaled, Replicas: ptr.To(int32(2)), Manifest: "ironic/Deployment_bmo_other.yaml"},
		},
		Hosts: []HostRecord{
			{Name: "h1", AddedPause: true, StatusSHA256: sha256Hex(ann)},
			{Name: "h2", AddedPause: true, StatusSHA256: sha256Hex(ann), StatusBefore: &before},
			{Name: "h3", StatusSHA256: sha256Hex(ann)},
		},
		SourcePause:  &PauseRecord{Clusters: []string{"c1"}, ClusterClasses: []string{"cc1"}},
		TargetBefore: &TargetRecord{Objects: []TargetObject{{Object: secretKey, UID: "pre"}}},
	}
	h := func(name string, a map[string]string) bmov1alpha1.BareMetalHost {
		return bmov1alpha1.BareMetalHost{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Annotations: a}}
	}
	cc := uobj("cluster.x-k8s.io/v1beta2", "ClusterClass", "ns", "cc1", "cc")
	cc.SetAnnotations(map[string]string{clusterv1.PausedAnnotation: ""})
	other := uobj("apps/v1", "Deployment", "bmo", "other", "o")
	_ = unstructured.SetNestedField(other.Object, int64(0), "spec", "replicas")
	tc := uobj("cluster.x-k8s.io/v1beta2", "Cluster", "ns", "c1", "new-c")
	_ = unstructured.SetNestedField(tc.Object, true, "spec", "paused")
	th := uobj("metal3.io/v1alpha1", "BareMetalHost", "ns", "h1", "new-h")
	th.SetAnnotations(map[string]string{bmov1alpha1.PausedAnnotation: hostsafety.PivotcheckPauseValue})
	return RollbackInput{
		BackupDir: "/b", Namespace: "ns", State: st, Plan: plan,
		Manifests: map[string]*unstructured.Unstructured{
			"Deployment bmo/ironic": uobj("apps/v1", "Deployment", "bmo", "ironic", ""),
			"Deployment bmo/other":  uobj("apps/v1", "Deployment", "bmo", "other", ""),
		},
		SourceIronic: map[string]*unstructured.Unstructured{"Deployment bmo/other": other},
		SourceHosts: []bmov1alpha1.BareMetalHost{
			h("h1", map[string]string{bmov1alpha1.PausedAnnotation: hostsafety.PivotcheckPauseValue, bmov1alpha1.StatusAnnotation: ann}),
			h("h2", map[string]string{bmov1alpha1.PausedAnnotation: hostsafety.PivotcheckPauseValue, bmov1alpha1.StatusAnnotation: ann}),
			// Someone else paused h3 before the move and changed its annotation since.
			h("h3", map[string]string{bmov1alpha1.PausedAnnotation: "ops", bmov1alpha1.StatusAnnotation: "{}"}),
		},
		SourceClusters:       []clusterv1.Cluster{{ObjectMeta: metav1.ObjectMeta{Name: "c1", Namespace: "ns"}, Spec: clusterv1.ClusterSpec{Paused: ptr.To(true)}}},
		SourceClusterClasses: []unstructured.Unstructured{*cc},
		SourcePlanned: map[mover.Object]*unstructured.Unstructured{
			clusterKey: uobj("cluster.x-k8s.io/v1beta2", "Cluster", "ns", "c1", "c"),
			hostKey:    uobj("metal3.io/v1alpha1", "BareMetalHost", "ns", "h1", "h"),
			secretKey:  uobj("v1", "Secret", "ns", "s1", "s"),
		},
		TargetPlanned: map[mover.Object]*unstructured.Unstructured{
			clusterKey: tc, hostKey: th, secretKey: uobj("v1", "Secret", "ns", "s1", "pre"),
		},
	}
}

func TestPlanRollback(t *testing.T) {
	acts, err := PlanRollback(rollbackFixture())
	require.NoError(t, err)
	var got []string
	for _, a := range acts {
		got = append(got, a.Action+" "+a.Object+": "+a.Detail)
	}
	require.Equal(t, []string{
		"delete-target-object Cluster.cluster.x-k8s.io ns/c1: created in the target by this move (uid new-c)",
		"delete-target-object BareMetalHost.metal3.io ns/h1: created in the target by this move (uid new-h)",
		"unpause-source-clusterclass ClusterClass ns/cc1: not paused before the move",
		"unpause-source-cluster Cluster ns/c1: unpaused before the move",
		"recreate-source-ironic Deployment bmo/ironic: re-created from ironic/Deployment_bmo_ironic.yaml",
		"scale-source-ironic Deployment bmo/other: scaled back to 2 replica(s)",
		"restore-source-host BareMetalHost ns/h1: pause removed, status annotation removed",
		"restore-source-host BareMetalHost ns/h2: pause removed, earlier status annotation put back",
	}, got, "the pre-existing target Secret and host h3 (someone else's pause and annotation) are left alone")
	require.Equal(t, map[string]any{"metadata": map[string]any{"annotations": map[string]any{
		bmov1alpha1.PausedAnnotation: nil, bmov1alpha1.StatusAnnotation: `{"operationalStatus":"discovered"}`}}}, acts[7].patch)
}

// TestPlanRollbackNothingLeft: once every write is done (a second run),
// nothing is planned.
func TestPlanRollbackNothingLeft(t *testing.T) {
	in := rollbackFixture()
	in.TargetPlanned = map[mover.Object]*unstructured.Unstructured{}
	in.SourceClusters[0].Spec.Paused = nil
	in.SourceClusterClasses[0].SetAnnotations(nil)
	in.SourceIronic = map[string]*unstructured.Unstructured{
		"Deployment bmo/ironic": uobj("apps/v1", "Deployment", "bmo", "ironic", "x"),
		"Deployment bmo/other":  uobj("apps/v1", "Deployment", "bmo", "other", "o"),
	}
	_ = unstructured.SetNestedField(in.SourceIronic["Deployment bmo/other"].Object, int64(2), "spec", "replicas")
	in.SourceHosts[0].Annotations = nil
	in.SourceHosts[1].Annotations = map[string]string{bmov1alpha1.StatusAnnotation: `{"operationalStatus":"discovered"}`}
	acts, err := PlanRollback(in)
	require.NoError(t, err)
	require.Empty(t, acts)
}

func TestPlanRollbackRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		mut  func(in *RollbackInput)
		want string
	}{
		"no state": {func(in *RollbackInput) { in.State = nil },
			"backup folder /b holds no pivotcheck-state.json"},
		"other namespace": {func(in *RollbackInput) { in.Namespace = "other" },
			"records a move of namespace ns, not other"},
		"commit point recorded": {func(in *RollbackInput) {
			in.State.SourceDeleteStarted = ptr.To(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
		}, "passed its commit point at 2026-01-01T12:00:00Z (clusterctl began deleting from the source), so it cannot be rolled back: finish it with pivotcheck move --resume --backup-dir /b"},
		"source object gone": {func(in *RollbackInput) {
			delete(in.SourcePlanned, mover.Object{Kind: "Secret", Namespace: "ns", Name: "s1"})
		}, "Secret ns/s1 is gone from the source, so clusterctl began deleting from the source"},
		"delete-for-move annotation": {func(in *RollbackInput) {
			in.SourcePlanned[mover.Object{Kind: "Secret", Namespace: "ns", Name: "s1"}].SetAnnotations(map[string]string{clusterctlv1.DeleteForMoveAnnotation: ""})
		}, "carries clusterctl's clusterctl.cluster.x-k8s.io/delete-for-move annotation"},
		"target cluster unpaused": {func(in *RollbackInput) {
			unstructured.RemoveNestedField(in.TargetPlanned[mover.Object{Group: "cluster.x-k8s.io", Kind: "Cluster", Namespace: "ns", Name: "c1"}].Object, "spec", "paused")
		}, "the target's copy of Cluster.cluster.x-k8s.io ns/c1 is not paused"},
		"target host unpaused": {func(in *RollbackInput) {
			in.TargetPlanned[mover.Object{Group: "metal3.io", Kind: "BareMetalHost", Namespace: "ns", Name: "h1"}].SetAnnotations(nil)
		}, "the target's copy of BareMetalHost.metal3.io ns/h1 is not paused"},
		"manifest missing": {func(in *RollbackInput) { delete(in.Manifests, "Deployment bmo/ironic") },
			"the saved manifest /b/ironic/Deployment_bmo_ironic.yaml of Ironic Deployment bmo/ironic is missing or unreadable"},
	} {
		t.Run(name, func(t *testing.T) {
			in := rollbackFixture()
			tc.mut(&in)
			acts, err := PlanRollback(in)
			require.Nil(t, acts)
			var r *RollbackRefusal
			require.ErrorAs(t, err, &r)
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "\n")
		})
	}
}

// TestPlanRollbackBeforeClusterctl: stopped before the move phase, nothing
// in the target is touched even if it holds objects of planned keys.
func TestPlanRollbackBeforeClusterctl(t *testing.T) {
	in := rollbackFixture()
	in.State.TargetBefore, in.State.SourcePause = nil, nil
	acts, err := PlanRollback(in)
	require.NoError(t, err)
	for _, a := range acts {
		require.NotEqual(t, ActDeleteTarget, a.Action)
		require.NotEqual(t, ActUnpauseCluster, a.Action, "nothing recorded the Cluster as running before: it stays paused")
	}
}

func TestRecordHostHandover(t *testing.T) {
	st := &State{}
	prev := "{}"
	hosts := []bmov1alpha1.BareMetalHost{
		host("a", nil),
		host("b", map[string]string{bmov1alpha1.StatusAnnotation: prev}),
	}
	acts := []HostAction{
		{Name: "a", Patch: map[string]any{"metadata": map[string]any{"annotations": map[string]any{bmov1alpha1.PausedAnnotation: hostsafety.PivotcheckPauseValue, bmov1alpha1.StatusAnnotation: "new"}}}},
		{Name: "b", Patch: map[string]any{"metadata": map[string]any{"annotations": map[string]any{bmov1alpha1.PausedAnnotation: hostsafety.PivotcheckPauseValue, bmov1alpha1.StatusAnnotation: "new"}}}},
		{Name: "c", Skip: "paused by ops"},
	}
	require.True(t, RecordHostHandover(st, hosts, acts))
	require.Equal(t, []HostRecord{
		{Name: "a", AddedPause: true, StatusSHA256: sha256Hex("new")},
		{Name: "b", AddedPause: true, StatusSHA256: sha256Hex("new"), StatusBefore: &prev},
	}, st.Hosts)
	// A resume re-plans from hosts that now carry pivotcheck's annotation:
	// the first record (what was there before the move) stays.
	hosts[1].Annotations[bmov1alpha1.StatusAnnotation] = "new"
	require.False(t, RecordHostHandover(st, hosts, acts))
	require.Equal(t, &prev, st.Hosts[1].StatusBefore)
}

func TestParseStateRollbackRecords(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"namespace":"ns","ironicWorkloads":[{"kind":"Deployment","namespace":"a","name":"b","action":"stopped","manifest":"ironic/x"}]}`, `has action "stopped"`},
		{`{"namespace":"ns","ironicWorkloads":[{"kind":"Deployment","namespace":"a","name":"b","action":"scaled","manifest":"ironic/x"}]}`, "was scaled but has no replicas"},
		{`{"namespace":"ns","ironicWorkloads":[{"kind":"Deployment","namespace":"a","name":"b","action":"deleted","manifest":"../x"}]}`, "needs a manifest path inside the backup folder"},
		{`{"namespace":"ns","hosts":[{"addedPause":true}]}`, "hosts[0] has no name"},
		{`{"namespace":"ns","targetBefore":{"objects":[{"kind":"Secret","name":"s"}]}}`, "targetBefore.objects[0] needs kind, name and uid"},
	} {
		_, err := ParseState([]byte(tc.in))
		require.ErrorContains(t, err, tc.want, tc.in)
	}
	s, err := ParseState([]byte(`{"namespace":"ns","sourceDeleteStarted":"2026-01-01T12:00:00Z","targetBefore":{"objects":[{"group":"metal3.io","kind":"BareMetalHost","namespace":"ns","name":"h","uid":"u"}]}}`))
	require.NoError(t, err)
	require.Equal(t, "metal3.io", s.TargetBefore.Objects[0].Group)
	require.NotNil(t, s.SourceDeleteStarted)
}

// TestDiffContent: the comparison sees a changed spec, a changed
// annotation that matters, a missing and an extra object, and ignores
// server-set metadata and other annotations.
func TestDiffContent(t *testing.T) {
	host := func(paused string, online bool, rv string) *unstructured.Unstructured {
		u := uobj("metal3.io/v1alpha1", "BareMetalHost", "ns", "h", "uid-"+rv)
		u.SetResourceVersion(rv)
		ann := map[string]string{"other": rv}
		if paused != "" {
			ann[bmov1alpha1.PausedAnnotation] = paused
		}
		u.SetAnnotations(ann)
		_ = unstructured.SetNestedField(u.Object, online, "spec", "online")
		_ = unstructured.SetNestedField(u.Object, rv, "status", "x")
		return u
	}
	cluster := func(paused any) *unstructured.Unstructured {
		u := uobj("cluster.x-k8s.io/v1beta2", "Cluster", "ns", "c", "c")
		spec := map[string]any{"controlPlaneRef": map[string]any{"name": "cp"}}
		if paused != nil {
			spec["paused"] = paused
		}
		u.Object["spec"] = spec
		return u
	}
	before := contentView{"h": objectContent(host("", true, "1")), "c": objectContent(cluster(nil))}
	require.Empty(t, diffContent(before, contentView{"h": objectContent(host("", true, "2")), "c": objectContent(cluster(false))}),
		"resourceVersion, uid, status and other annotations are not compared; paused false = absent")
	require.Len(t, diffContent(before, contentView{"h": objectContent(host("", false, "1")), "c": objectContent(cluster(nil))}), 1, "spec")
	require.Len(t, diffContent(before, contentView{"h": objectContent(host(hostsafety.PivotcheckPauseValue, true, "1")), "c": objectContent(cluster(nil))}), 1, "pause")
	require.Len(t, diffContent(before, contentView{"h": objectContent(host("", true, "1")), "c": objectContent(cluster(true))}), 1, "Cluster paused")
	require.Empty(t, diffContent(before, contentView{"h": objectContent(host("x", true, "1")), "c": objectContent(cluster(true))}, bmov1alpha1.PausedAnnotation, ignorePaused))
	require.Equal(t, []string{"c: missing", "x: not there before"}, diffContent(before, contentView{"h": before["h"], "x": before["c"]}))
}
