package move

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-logr/logr"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// Restore puts a backup back into a cluster with clusterctl's
// --from-directory. Objects are created; Clusters (saved paused) and
// ClusterClasses stay paused unless unpause is set, because the cluster
// the backup came from may still manage them; BareMetalHosts keep their
// status annotation and pivotcheck's pause, so BMO restores their status
// once the pause is removed. Every file is read
// and checked first, so a damaged backup is refused before anything is
// created. clusterctl's --from-directory restores every namespace of the
// folder; with namespace set, only that namespace's objects are copied to a
// private temporary folder and restored from there. It returns the number
// of distinct objects restored.
func Restore(ctx context.Context, dir string, to kube.Cluster, namespace string, unpause bool, progress func(mover.Event), log logr.Logger) (int, error) {
	b, err := ReadBackup(dir)
	if err != nil {
		return 0, err
	}
	from := b.ObjectsDir
	if namespace != "" {
		var keep []BackupObject
		nss := map[string]bool{}
		for _, o := range b.Objects {
			nss[o.Object.Namespace] = true
			if o.Object.Namespace == namespace {
				keep = append(keep, o)
			}
		}
		if len(keep) == 0 {
			have := slices.Sorted(maps.Keys(nss))
			return 0, fmt.Errorf("backup folder %s holds no object in namespace %s (it holds namespace(s) %s)", dir, namespace, strings.Join(have, ", "))
		}
		if len(keep) < len(b.Objects) {
			tmp, err := os.MkdirTemp("", "pivotcheck-restore-")
			if err != nil {
				return 0, fmt.Errorf("temporary folder for the objects of namespace %s: %w", namespace, err)
			}
			defer os.RemoveAll(tmp)
			for i, o := range keep {
				raw, err := o.Raw.MarshalJSON()
				if err != nil {
					return 0, fmt.Errorf("encoding %s from backup file %s: %w", o.Object, o.File, err)
				}
				if err := os.WriteFile(filepath.Join(tmp, fmt.Sprintf("%04d_%s", i, backupFileName(o.Object))), raw, 0o600); err != nil {
					return 0, fmt.Errorf("copying %s for the restore: %w", o.Object, err)
				}
			}
			from = tmp
		}
	}
	seen := map[mover.Object]bool{}
	// clusterctl unpauses what it restored as its last step, with no
	// option to skip it. Its step message comes, from the linked library,
	// synchronously before the first unpause write, and each of those
	// writes checks the context first: cancelling there stops them all.
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	keptPaused := false
	err = mover.Move(mctx, mover.Options{From: to, To: to, Namespace: namespace, FromDirectory: from, Log: log, Progress: func(e mover.Event) {
		if (e.Action == mover.Creating || e.Action == mover.Restoring) && e.Object.Kind != "Namespace" {
			seen[e.Object] = true
		}
		if !unpause && (e.Phase == mover.PhaseResumingClasses || e.Phase == mover.PhaseResumingClusters) {
			keptPaused = true
			cancel()
		}
		if progress != nil {
			progress(e)
		}
	}})
	// Distinct objects: a retried write is logged again, and two objects of
	// one kind and name in different groups are logged under one key.
	n := 0
	for _, o := range b.Objects {
		if seen[o.Object.Unqualified()] && (namespace == "" || o.Object.Namespace == namespace) {
			n++
		}
	}
	if err != nil && keptPaused && ctx.Err() == nil && errors.Is(err, context.Canceled) {
		err = nil // stopped on purpose, right before the unpause
	}
	if err != nil {
		return n, fmt.Errorf("restoring %s: %w", from, err)
	}
	return n, nil
}
