package move

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-logr/logr"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// Restore puts a backup back into a cluster with clusterctl's
// --from-directory (objects are created, Clusters unpaused at the end;
// BareMetalHosts keep their status annotation and pivotcheck's pause, so
// BMO restores their status once the pause is removed).
func Restore(ctx context.Context, dir string, to kube.Target, namespace string, progress func(mover.Event), log logr.Logger) (int, error) {
	objDir := filepath.Join(dir, BackupObjectsDir)
	if st, err := os.Stat(objDir); err != nil || !st.IsDir() {
		// A plain clusterctl --to-directory folder works too.
		objDir = dir
	}
	if _, err := os.Stat(objDir); err != nil {
		return 0, fmt.Errorf("backup folder %s: %w", dir, err)
	}
	n := 0
	err := mover.Move(ctx, mover.Options{From: to, To: to, Namespace: namespace, FromDirectory: objDir, Log: log, Progress: func(e mover.Event) {
		if e.Action == mover.Creating || e.Action == mover.Restoring {
			n++
		}
		if progress != nil {
			progress(e)
		}
	}})
	if err != nil {
		return n, fmt.Errorf("restoring %s: %w", objDir, err)
	}
	return n, nil
}
