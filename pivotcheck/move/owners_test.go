package move

import (
	"context"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"

	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

// TestFixOwnersLeavesNothingBehind: with the owner faults injected,
// clusterctl's own plan leaves Secrets, the Metal3DataTemplate's subtree and
// the IPPool's subtree behind; after PlanOwnerFixes is applied the plan
// holds every object the fixture created.
func TestFixOwnersLeavesNothingBehind(t *testing.T) {
	needEnv(t)
	ctx := context.Background()
	const ns = "owners"
	res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, Workers: 1, SpareHosts: 1,
		Faults: fixture.Faults{OrphanUserDataSecret: true, BMCSecretWithoutOwner: true, DataTemplateWithoutOwner: true, IPPoolWithoutClusterName: true}})
	require.NoError(t, err)
	all := toObjects(res.Objects)

	plan, err := mover.Plan(ctx, target(pair.Bootstrap), ns, testLog(t))
	require.NoError(t, err)
	require.Less(t, len(plan), len(all), "the faults must make move leave objects behind")

	hosts, secrets, clusters, tmpl, pools, err := listOwnerInputs(ctx, pair.Bootstrap.Client, ns)
	require.NoError(t, err)
	fixes := PlanOwnerFixes(hosts, secrets, clusters, tmpl, pools)
	var got []string
	for _, f := range fixes {
		got = append(got, f.GVK.Kind+" "+f.Name)
	}
	require.ElementsMatch(t, []string{
		"Secret " + fixture.OrphanSecretName, // userData of host 0
		"Secret test1-host-0-bmc-secret",     // BMO never registered host 0
		"Metal3DataTemplate test1-data",      // spec.clusterName → Cluster owner
		"IPPool provisioning-pool",           // no clusterName → move label
	}, got)
	require.NoError(t, applyOwnerFixes(ctx, pair.Bootstrap.Client, ns, fixes))

	d := &driver{opts: Options{Source: target(pair.Bootstrap), Namespace: ns, Log: testLog(t)}, src: pair.Bootstrap.Client}
	qualified, err := d.qualifiedPlan(ctx)
	require.NoError(t, err)
	require.Equal(t, all, qualified)

	// Idempotent: nothing left to fix.
	hosts, secrets, clusters, tmpl, pools, err = listOwnerInputs(ctx, pair.Bootstrap.Client, ns)
	require.NoError(t, err)
	require.Empty(t, PlanOwnerFixes(hosts, secrets, clusters, tmpl, pools))
}

func TestPlanOwnerFixesPure(t *testing.T) {
	h := bmov1alpha1.BareMetalHost{ObjectMeta: metav1.ObjectMeta{Name: "h0", Namespace: "ns", UID: "host-uid"},
		Spec: bmov1alpha1.BareMetalHostSpec{BMC: bmov1alpha1.BMCDetails{CredentialsName: "bmc"},
			UserData: &corev1.SecretReference{Name: "ud"}, NetworkData: &corev1.SecretReference{Name: "nd", Namespace: "other"}}}
	owned := corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ud", OwnerReferences: []metav1.OwnerReference{{Name: "x"}}}}
	secrets := []corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Name: "bmc"}}, owned, {ObjectMeta: metav1.ObjectMeta{Name: "nd"}}}
	cl := clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c1", UID: "cluster-uid"}}
	tmpl := unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "t"}, "spec": map[string]any{"clusterName": "c1"}}}
	pool := unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "p"}, "spec": map[string]any{}}}
	fixes := PlanOwnerFixes([]bmov1alpha1.BareMetalHost{h}, secrets, []clusterv1.Cluster{cl}, []unstructured.Unstructured{tmpl}, []unstructured.Unstructured{pool})
	require.Len(t, fixes, 3)
	ref := fixes[0].Patch["metadata"].(map[string]any)["ownerReferences"].([]metav1.OwnerReference)[0]
	require.Equal(t, "bmc", fixes[0].Name)
	require.EqualValues(t, "host-uid", ref.UID)
	ref = fixes[1].Patch["metadata"].(map[string]any)["ownerReferences"].([]metav1.OwnerReference)[0]
	require.Equal(t, "t", fixes[1].Name)
	require.EqualValues(t, "cluster-uid", ref.UID)
	require.Equal(t, "p", fixes[2].Name)
	require.Contains(t, fixes[2].Patch["metadata"].(map[string]any)["labels"], clusterctlv1.ClusterctlMoveLabel)
}

// TestSharedSecretGetsTheMoveLabel: a BMC Secret two hosts share gets the
// move label, not an owner reference to one of them (deleting that host
// would garbage-collect the other's credentials); a labelled one is done.
func TestSharedSecretGetsTheMoveLabel(t *testing.T) {
	host := func(name string) bmov1alpha1.BareMetalHost {
		return bmov1alpha1.BareMetalHost{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: "uid-" + types.UID(name)},
			Spec: bmov1alpha1.BareMetalHostSpec{BMC: bmov1alpha1.BMCDetails{CredentialsName: "shared-bmc"}, UserData: &corev1.SecretReference{Name: "ud-" + name}}}
	}
	hosts := []bmov1alpha1.BareMetalHost{host("h1"), host("h0")}
	secrets := []corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Name: "shared-bmc"}}, {ObjectMeta: metav1.ObjectMeta{Name: "ud-h0"}}, {ObjectMeta: metav1.ObjectMeta{Name: "ud-h1"}}}
	fixes := PlanOwnerFixes(hosts, secrets, nil, nil, nil)
	require.Len(t, fixes, 3)
	byName := map[string]OwnerFix{}
	for _, f := range fixes {
		byName[f.Name] = f
	}
	shared := byName["shared-bmc"].Patch["metadata"].(map[string]any)
	require.NotContains(t, shared, "ownerReferences")
	require.Equal(t, map[string]any{clusterctlv1.ClusterctlMoveLabel: ""}, shared["labels"])
	require.Contains(t, byName["shared-bmc"].Why, "shared by BareMetalHosts h0, h1")
	ref := byName["ud-h1"].Patch["metadata"].(map[string]any)["ownerReferences"].([]metav1.OwnerReference)[0]
	require.Equal(t, "h1", ref.Name, "a Secret one host uses still gets that host as owner")

	secrets[0].Labels = map[string]string{clusterctlv1.ClusterctlMoveLabel: ""}
	for _, f := range PlanOwnerFixes(hosts, secrets, nil, nil, nil) {
		require.NotEqual(t, "shared-bmc", f.Name, "already labelled: nothing to do")
	}
}
