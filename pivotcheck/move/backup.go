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

// backupFileName is the file of one object in the backup. clusterctl's own
// --to-directory names files "<Kind>_<namespace>_<name>.yaml", so two
// same-named objects of one kind in different API groups overwrite each
// other there; pivotcheck adds the group. clusterctl --from-directory reads
// every file of the folder whatever its name, so restores still work.
func backupFileName(o mover.Object) string {
	return o.GroupKind() + "_" + o.Namespace + "_" + o.Name + ".yaml"
}

// saveObjects writes every planned object to dir in clusterctl's
// --to-directory format (one JSON object per file, with status), so
// `clusterctl move --from-directory` and `pivotcheck restore` read it. It
// lists each kind once instead of clusterctl's one client and GET per
// object: on 500 objects that is the difference between a backup that
// costs a fraction of the move and one that costs half of it. Clusters are
// saved paused, as clusterctl's own backup saves them, so a restore
// unpauses them only once everything exists. Each file is written to a
// temporary name and renamed, so an interrupted backup leaves no
// half-written object.
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
				return fmt.Errorf("listing %s in %s for the backup: %w", gvk.GroupKind(), ns, err)
			}
			for i := range l.Items {
				it := &l.Items[i]
				key := mover.Object{Group: gvk.Group, Kind: kind, Namespace: ns, Name: it.GetName()}
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
					return fmt.Errorf("encoding %s for the backup: %w", key, err)
				}
				// The temporary file lives one folder up: clusterctl
				// --from-directory would read a leftover one in dir.
				if err := writeFileVia(filepath.Dir(dir), filepath.Join(dir, backupFileName(key)), raw); err != nil {
					return fmt.Errorf("writing the backup of %s: %w", key, err)
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

// writeFileAtomic writes data to path with mode 0600 through a temporary
// file in the same folder and a rename: a kill leaves the old file or the
// new one, never half of one.
func writeFileAtomic(path string, data []byte) error {
	return writeFileVia(filepath.Dir(path), path, data)
}

// writeFileVia is writeFileAtomic with the temporary file in tmpDir (same
// file system as path).
func writeFileVia(tmpDir, path string, data []byte) error {
	f, err := os.CreateTemp(tmpDir, ".pivotcheck-tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
