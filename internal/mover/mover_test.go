package mover_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

var pair *testenv.Pair

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// Unit tests run; the integration tests skip themselves (needPair).
		os.Exit(m.Run())
	}
	os.Exit(testenv.RunWithPair(m, &pair, nil))
}

func needPair(t *testing.T) {
	t.Helper()
	if pair == nil {
		t.Skip("integration test: needs envtest (skipped with -short)")
	}
}

func target(c *testenv.Cluster) kube.Cluster {
	return kube.Cluster{Kubeconfig: c.Kubeconfig, Context: c.Context}
}

func toObjects(refs []fixture.Ref) []mover.Object {
	out := make([]mover.Object, 0, len(refs))
	for _, r := range refs {
		out = append(out, mover.Object{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name})
	}
	mover.SortObjects(out)
	return out
}

func TestPlanIsClusterctlsDiscovery(t *testing.T) {
	needPair(t)
	ctx := context.Background()
	res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: "plan", ControlPlane: 2, Workers: 1, SpareHosts: 1})
	require.NoError(t, err)
	plan, err := mover.Plan(ctx, target(pair.Bootstrap), "plan", testLog(t))
	require.NoError(t, err)
	// A clean fixture moves whole: every object it created is in the plan.
	require.Equal(t, toObjects(res.Objects), plan)
}

func TestPlanLeavesOrphansBehind(t *testing.T) {
	needPair(t)
	ctx := context.Background()
	res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: "orphans",
		Faults: fixture.Faults{OrphanUserDataSecret: true, DanglingOwner: true, IPPoolWithoutClusterName: true}})
	require.NoError(t, err)
	plan, err := mover.Plan(ctx, target(pair.Bootstrap), "orphans", testLog(t))
	require.NoError(t, err)
	inPlan := map[mover.Object]bool{}
	for _, o := range plan {
		inPlan[o] = true
	}
	left := []mover.Object{}
	for _, o := range toObjects(res.Objects) {
		if !inPlan[o] {
			left = append(left, o)
		}
	}
	// The IPPool has no owner; its IPAddresses hang off it and an IPClaim
	// (#8387: any owner not moved drops the object).
	require.Equal(t, []mover.Object{
		{Kind: "ConfigMap", Namespace: "orphans", Name: "test1-addons"},
		{Kind: "ConfigMap", Namespace: "orphans", Name: "test1-addons-owner"},
		{Kind: "IPAddress", Namespace: "orphans", Name: "provisioning-pool-0"},
		{Kind: "IPPool", Namespace: "orphans", Name: "provisioning-pool"},
		{Kind: "Secret", Namespace: "orphans", Name: fixture.OrphanSecretName},
	}, left)
}

// TestMoveReportsEveryObject moves the same fixture with pivotcheck's
// runner (one API client per cluster for the whole move) and with
// clusterctl's stock one (a new client per object): both report and move
// every object, and the two targets hold the same specs.
func TestMoveReportsEveryObject(t *testing.T) {
	needPair(t)
	ctx := context.Background()
	specs := map[string]map[mover.Object]string{}
	for _, tc := range []struct {
		name, ns string
		runner   mover.Library
	}{
		{"shared client", "move-shared", mover.Library{}},
		{"stock", "move-stock", mover.Library{Stock: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: tc.ns, ControlPlane: 1, Workers: 1})
			require.NoError(t, err)
			created, deleted := map[mover.Object]int{}, map[mover.Object]int{}
			var phases []string
			err = tc.runner.Move(ctx, mover.Options{From: target(pair.Bootstrap), To: target(pair.Target), Namespace: tc.ns, Log: testLog(t),
				Progress: func(e mover.Event) {
					switch e.Action {
					case mover.Creating:
						created[e.Object]++
					case mover.Deleting:
						deleted[e.Object]++
					case "":
						phases = append(phases, e.Phase)
					}
				}})
			require.NoError(t, err)
			specs[tc.name] = map[mover.Object]string{}
			for _, o := range toObjects(res.Objects) {
				require.Equal(t, 1, created[o], o.String())
				require.Equal(t, 1, deleted[o], o.String())
				u := &unstructured.Unstructured{}
				u.SetGroupVersionKind(refGVK(res, o))
				require.NoError(t, pair.Target.Client.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Name}, u), o.String())
				require.Error(t, pair.Bootstrap.Client.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Name}, u), o.String())
				key := o
				key.Namespace = ""
				spec, err := json.Marshal(u.Object["spec"])
				require.NoError(t, err)
				// The namespace is the one expected difference.
				specs[tc.name][key] = strings.ReplaceAll(string(spec), tc.ns, "NS")
			}
			require.Contains(t, phases, "Pausing the source cluster")
			require.Contains(t, phases, "Creating objects in the target cluster")
			require.Contains(t, phases, "Resuming the target cluster")
		})
	}
	require.Len(t, specs, 2)
	require.NotEmpty(t, specs["stock"])
	require.Equal(t, specs["stock"], specs["shared client"], "the two runners moved different specs")
}

func refGVK(res *fixture.Result, o mover.Object) schemaGVK {
	for _, r := range res.Objects {
		if r.Kind == o.Kind && r.Name == o.Name && r.Namespace == o.Namespace {
			return r.GVK()
		}
	}
	panic("unknown object " + o.String())
}
