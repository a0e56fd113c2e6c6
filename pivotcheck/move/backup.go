package move

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// saveObjects writes every planned object to dir in clusterctl's
// --to-directory format (one JSON file "<Kind>_<namespace>_<name>.yaml" per
// object, with status), so `clusterctl move --from-directory` and
// `pivotcheck restore` read it. It lists each kind once instead of
// clusterctl's one client and GET per object: on 500 objects that is the
// difference between a backup that costs a fraction of the move and one that
// costs half of it. Clusters are saved paused, as clusterctl's own backup
// saves them, so a restore unpauses them only once everything exists.
func saveObjects(ctx context.Context, c client.Client, ns string, plan []mover.Object, dir string) error {
	kinds, err := movableKinds(ctx, c)
	if err != nil {
		return err
	}
	want := map[mover.Object]bool{}
	need := map[string]bool{}
	for _, o := range plan {
		want[o] = true
		need[o.Kind] = true
	}
	saved := map[mover.Object]bool{}
	for kind := range need {
		for _, gvk := range kinds[kind] {
			l := &unstructured.UnstructuredList{}
			l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			if err := c.List(ctx, l, client.InNamespace(ns)); err != nil {
				if isNoKind(err) {
					continue
				}
				return fmt.Errorf("listing %s in %s for the backup: %w", kind, ns, err)
			}
			for i := range l.Items {
				it := &l.Items[i]
				key := mover.Object{Kind: kind, Namespace: ns, Name: it.GetName()}
				if !want[key] || saved[key] {
					continue
				}
				saved[key] = true
				it.SetAPIVersion(gvk.GroupVersion().String())
				it.SetKind(kind)
				if kind == "Cluster" && gvk.Group == "cluster.x-k8s.io" {
					if err := unstructured.SetNestedField(it.Object, true, "spec", "paused"); err != nil {
						return fmt.Errorf("marking Cluster %s/%s paused in the backup: %w", ns, it.GetName(), err)
					}
				}
				raw, err := it.MarshalJSON()
				if err != nil {
					return fmt.Errorf("encoding %s %s/%s for the backup: %w", kind, ns, it.GetName(), err)
				}
				f := filepath.Join(dir, kind+"_"+ns+"_"+it.GetName()+".yaml")
				if err := os.WriteFile(f, raw, 0o600); err != nil {
					return fmt.Errorf("writing the backup of %s %s/%s: %w", kind, ns, it.GetName(), err)
				}
			}
		}
	}
	var missing []string
	for _, o := range plan {
		if !saved[o] {
			missing = append(missing, o.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%d planned object(s) could not be read for the backup%s", len(missing), listSuffix(missing))
	}
	return nil
}
