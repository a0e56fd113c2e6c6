package move

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

// contentView is what a namespace holds, by content: for every object of
// a movable kind, everything but metadata and status (spec, data, type...),
// Cluster.spec.paused normalised (absent = false, as clusterctl's unpause
// drops the field), and the annotations that decide who manages it; plus
// the spec of every Deployment of BMO's namespace (Ironic). Server-set
// fields (resourceVersion, uid, generation, managedFields, status) are
// never compared; server-defaulted spec fields compare equal because both
// sides are read from the server.
type contentView map[string]map[string]any

// annotationsThatMatter are compared; the rest of the metadata is not
// (owner repair adds ownerReferences and labels that rollback keeps).
var annotationsThatMatter = []string{
	bmov1alpha1.PausedAnnotation, bmov1alpha1.StatusAnnotation, clusterv1.PausedAnnotation, clusterctlv1.DeleteForMoveAnnotation,
}

// readContent reads c's view of namespace ns (and of BMO's namespace when
// withIronic is set).
func readContent(t testing.TB, c client.Client, ns string, withIronic bool) contentView {
	t.Helper()
	ctx := context.Background()
	out := contentView{}
	kinds, err := movableKinds(ctx, c)
	require.NoError(t, err)
	for _, gvks := range kinds {
		for _, gvk := range gvks {
			l := &unstructured.UnstructuredList{}
			l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			if err := c.List(ctx, l, client.InNamespace(ns)); err != nil {
				if kube.KindMissing(err) {
					continue
				}
				require.NoError(t, err)
			}
			for i := range l.Items {
				out[fmt.Sprintf("%s.%s %s/%s", gvk.Kind, gvk.Group, ns, l.Items[i].GetName())] = objectContent(&l.Items[i])
			}
		}
	}
	if withIronic {
		deps := &appsv1.DeploymentList{}
		require.NoError(t, c.List(ctx, deps, client.InNamespace(fixture.BMONamespace)))
		for i := range deps.Items {
			u, err := toUnstructured(&deps.Items[i])
			require.NoError(t, err)
			out["Deployment "+fixture.BMONamespace+"/"+deps.Items[i].Name] = map[string]any{"spec": u["spec"]}
		}
	}
	return out
}

func toUnstructured(o any) (map[string]any, error) {
	return runtime.DefaultUnstructuredConverter.ToUnstructured(o)
}

// objectContent is one object's compared content.
func objectContent(u *unstructured.Unstructured) map[string]any {
	m := map[string]any{}
	for k, v := range u.Object {
		switch k {
		case "metadata", "status", "apiVersion", "kind":
			continue
		}
		m[k] = v
	}
	if u.GetKind() == "Cluster" {
		spec, _ := m["spec"].(map[string]any)
		spec = maps.Clone(spec)
		if p, _ := spec["paused"].(bool); !p {
			delete(spec, "paused")
		}
		m["spec"] = spec
	}
	ann := map[string]string{}
	for _, k := range annotationsThatMatter {
		if v, ok := u.GetAnnotations()[k]; ok {
			ann[k] = v
		}
	}
	m["annotations"] = ann
	m["deleting"] = u.GetDeletionTimestamp() != nil
	return m
}

// diffContent lists every difference between two views, one line each
// (empty: equal). ignore drops the named annotations from both sides
// first (a moved host carries the status annotation its source did not).
func diffContent(before, after contentView, ignore ...string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(before)) {
		a, ok := after[k]
		switch {
		case !ok:
			out = append(out, k+": missing")
		case !equality.Semantic.DeepEqual(strip(before[k], ignore), strip(a, ignore)):
			out = append(out, fmt.Sprintf("%s: content differs\n  before: %v\n  after:  %v", k, strip(before[k], ignore), strip(a, ignore)))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(after)) {
		if _, ok := before[k]; !ok {
			out = append(out, k+": not there before")
		}
	}
	return out
}

// ignorePaused, given to diffContent, drops Cluster.spec.paused too (an
// interrupted move leaves either side's copy paused).
const ignorePaused = "spec.paused"

func strip(m map[string]any, ignore []string) map[string]any {
	if len(ignore) == 0 {
		return m
	}
	c := maps.Clone(m)
	if slices.Contains(ignore, ignorePaused) {
		if spec, ok := c["spec"].(map[string]any); ok {
			spec = maps.Clone(spec)
			delete(spec, "paused")
			c["spec"] = spec
		}
	}
	if ann, ok := c["annotations"].(map[string]string); ok {
		ann = maps.Clone(ann)
		for _, k := range ignore {
			delete(ann, k)
		}
		c["annotations"] = ann
	}
	return c
}

// requireSameContent fails with every difference.
func requireSameContent(t testing.TB, before, after contentView, what string, ignore ...string) {
	t.Helper()
	if d := diffContent(before, after, ignore...); len(d) > 0 {
		t.Fatalf("%s: %d difference(s):\n%s", what, len(d), joinLines(d))
	}
}

func joinLines(s []string) string {
	out := ""
	for _, l := range s {
		out += "  " + l + "\n"
	}
	return out
}

// mergedSides is, for every key of before, the object as the target holds
// it, else as the source holds it: after an interrupted move each object
// must exist, unchanged, on one side or the other.
func mergedSides(before, src, dst contentView) contentView {
	out := contentView{}
	for k := range before {
		if v, ok := dst[k]; ok {
			out[k] = v
		} else if v, ok := src[k]; ok {
			out[k] = v
		}
	}
	return out
}
