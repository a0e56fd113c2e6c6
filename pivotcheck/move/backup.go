package move

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
// costs a fraction of the move and one that costs half of it. The LISTs
// run apiWorkers at a time, the file writes fileWorkers at a time (each
// file is fsynced); every file is written before the plan and state that
// name them. Clusters are saved paused, as clusterctl's own backup saves
// them, so a restore unpauses them only once everything exists. Each file
// is written to a temporary name and renamed, so an interrupted backup
// leaves no half-written object.
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
	var gvks []schema.GroupVersionKind
	for kind := range need {
		gvks = append(gvks, kinds[kind]...)
	}
	type file struct {
		key mover.Object
		obj *unstructured.Unstructured
	}
	var files []file
	saved := map[mover.Object]bool{}
	err = listEach(ctx, c, ns, gvks, func(gvk schema.GroupVersionKind, l *unstructured.UnstructuredList) error {
		for i := range l.Items {
			it := &l.Items[i]
			key := mover.Object{Group: gvk.Group, Kind: gvk.Kind, Namespace: ns, Name: it.GetName()}
			if !want[key] || saved[key] {
				continue
			}
			saved[key] = true
			it.SetAPIVersion(gvk.GroupVersion().String())
			it.SetKind(gvk.Kind)
			files = append(files, file{key, it})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the planned objects for the backup: %w", err)
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
	return parallelN(ctx, fileWorkers, len(files), func(ctx context.Context, i int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		key, it := files[i].key, files[i].obj
		if key.Kind == "Cluster" && key.Group == "cluster.x-k8s.io" {
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
		return nil
	})
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

// backup saves every object clusterctl will move, with status, in
// clusterctl's --to-directory format. The plan is clusterctl's own dry run,
// each object given its API group.
func (d *driver) backup(ctx context.Context) (string, error) {
	abs := d.report.BackupDir
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("creating backup folder %s: %w", abs, err)
	}
	if err := os.Chmod(abs, 0o700); err != nil {
		return "", fmt.Errorf("restricting backup folder %s: %w", abs, err)
	}
	if d.opts.Resume {
		// clusterctl's delete-for-move marks go before the backup saves the
		// objects (the source Clusters stay paused until the move phase).
		if err := d.unmarkSourceForResume(ctx); err != nil {
			return "", err
		}
	}
	objDir := filepath.Join(abs, BackupObjectsDir)
	if err := os.MkdirAll(objDir, 0o700); err != nil {
		return "", fmt.Errorf("creating backup folder %s: %w", objDir, err)
	}
	d.planNote = ""
	plan, err := d.backupPlan(ctx)
	if err != nil {
		return "", err
	}
	if err := saveObjects(ctx, d.src, d.opts.Namespace, plan, objDir); err != nil {
		return "", err
	}
	seen := map[mover.Object]bool{}
	for _, o := range plan {
		seen[o] = true
	}
	// After a partial move the source holds only what is left: the plan is
	// the union with the first attempt's, so verify checks everything.
	for _, o := range d.previous {
		if !seen[o] {
			seen[o] = true
			plan = append(plan, o)
		}
	}
	mover.SortObjects(plan)
	d.setPlan(plan)
	raw, err := jsonIndent(plan)
	if err != nil {
		return "", fmt.Errorf("encoding the plan: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(abs, backupPlanFile), raw); err != nil {
		return "", fmt.Errorf("writing the plan to %s: %w", abs, err)
	}
	d.previous = plan
	if err := d.writeState(); err != nil {
		return "", err
	}
	readme := fmt.Sprintf(`pivotcheck backup of namespace %s from %s, %s.
Every object clusterctl move takes (%d), with status, one file per object (clusterctl's
--to-directory format; file names carry the API group).
THIS FOLDER HOLDS CREDENTIALS (BMC Secrets, kubeconfig and CA Secrets): keep it private, delete it when done.
Restore: pivotcheck restore --from %s --to-kubeconfig KUBECONFIG
     or: clusterctl move --from-directory %s --to-kubeconfig KUBECONFIG
`, d.opts.Namespace, d.opts.Source, time.Now().UTC().Format(time.RFC3339), len(plan), abs, objDir)
	if err := writeFileAtomic(filepath.Join(abs, backupReadme), []byte(readme)); err != nil {
		return "", fmt.Errorf("writing %s: %w", backupReadme, err)
	}
	d.warn(fmt.Sprintf("the backup in %s holds credentials (BMC and kubeconfig Secrets): keep it private", abs))
	detail := fmt.Sprintf("%d objects saved to %s (files 0600; holds credentials)", len(plan), abs)
	if d.planNote != "" {
		detail += "; " + d.planNote
	}
	return detail, nil
}

// BackupObjectsDir is the sub-folder of a backup holding clusterctl's
// files: clusterctl --from-directory reads every file of its folder, so
// pivotcheck's own files (plan, README) live one level up.
const BackupObjectsDir = "objects"
