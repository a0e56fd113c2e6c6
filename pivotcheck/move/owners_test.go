package move

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/fixture"
	"github.com/pivotcheck/pivotcheck/internal/mover"
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
