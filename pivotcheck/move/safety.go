// Phase lock: the operator-mistake rails, before anything is written —
// source and target must be two clusters, a resume needs the state of an
// earlier attempt of the same move, and one run at a time holds the
// namespace (a Lease in both clusters) and the backup folder (an flock).

package move

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sync/errgroup"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/movelock"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// SameClusterError is the refusal of a move whose source and target are
// one cluster, however each was reached.
type SameClusterError struct {
	Source, Target     string
	SourceID, TargetID kube.Identity
}

func (e *SameClusterError) Error() string {
	return fmt.Sprintf("source %s (%s) and target %s (server %s) are the same cluster (kube-system Namespace UID %s): refusing to move a namespace onto itself, nothing was changed",
		e.Source, e.SourceID.Server, e.Target, e.TargetID.Server, e.SourceID.UID)
}

// CheckDistinct is the decision (pure): a *SameClusterError when src and
// dst are one cluster. srcName and dstName name them in the message.
func CheckDistinct(srcName, dstName string, src, dst kube.Identity) error {
	if src.Same(dst) {
		return &SameClusterError{Source: srcName, Target: dstName, SourceID: src, TargetID: dst}
	}
	return nil
}

// ClusterIdentities reads the identity of both clusters (concurrently).
func ClusterIdentities(ctx context.Context, src, dst kube.Cluster) (srcID, dstID kube.Identity, err error) {
	var g errgroup.Group
	g.Go(func() (err error) { srcID, err = src.Identity(ctx, clientRate); return wrapSide("source", err) })
	g.Go(func() (err error) { dstID, err = dst.Identity(ctx, clientRate); return wrapSide("target", err) })
	return srcID, dstID, g.Wait()
}

func wrapSide(side string, err error) error {
	if err != nil {
		return fmt.Errorf("%s cluster: %w", side, err)
	}
	return nil
}

// RefuseSameCluster reads both clusters' identity (the UID of their
// kube-system Namespace) and returns a *SameClusterError when src and dst
// are one cluster — two kubeconfig files, two context names or localhost
// vs 127.0.0.1 for one API server. It writes nothing. move, move-back and
// rollback call it before their first write.
func RefuseSameCluster(ctx context.Context, src, dst kube.Cluster) error {
	srcID, dstID, err := ClusterIdentities(ctx, src, dst)
	if err != nil {
		return err
	}
	return CheckDistinct(src.String(), dst.String(), srcID, dstID)
}

// ClusterRecord is what the state records of one side of the move.
type ClusterRecord struct {
	Identity kube.Identity `json:"identity"`
	Resolved kube.Resolved `json:"resolved"`
}

// CheckResumable is the decision (pure) whether a --resume may continue
// from st, the state an earlier attempt recorded in dir: it must exist and
// be of the same namespace and the same pair of clusters.
func CheckResumable(dir string, st State, found bool, ns string, src, dst kube.Identity) error {
	switch {
	case !found:
		return fmt.Errorf("--resume needs the state of an earlier attempt, and backup folder %s holds no %s: nothing was changed; run without --resume to start a move", dir, backupStateFile)
	case st.Source == nil || st.Target == nil:
		return fmt.Errorf("--resume needs the clusters of the earlier attempt, and %s in %s records none (written by an older pivotcheck): nothing was changed; finish that move with the pivotcheck that started it", backupStateFile, dir)
	case st.Namespace != ns:
		return fmt.Errorf("--resume: backup folder %s records a move of namespace %s, not %s: nothing was changed", dir, st.Namespace, ns)
	case !st.Source.Identity.Same(src) || !st.Target.Identity.Same(dst):
		return fmt.Errorf("--resume: backup folder %s records a move from the cluster with kube-system UID %s to %s, not from %s to %s: nothing was changed; pass the kubeconfigs of that move (its state names them: %s, %s)",
			dir, st.Source.Identity.UID, st.Target.Identity.UID, src.UID, dst.UID, recordName(st.Source), recordName(st.Target))
	}
	return nil
}

func recordName(r *ClusterRecord) string {
	s := r.Resolved.Kubeconfig
	if s == "" {
		s = "default kubeconfig"
	}
	if r.Resolved.Context != "" {
		s += " context " + r.Resolved.Context
	}
	return s
}

// lockPhase runs before any write: identities, the resume rule, then the
// backup folder's lock and the Leases.
func (d *driver) lockPhase(ctx context.Context) (string, error) {
	o := d.opts
	if err := d.readIdentities(ctx); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(o.BackupDir)
	if err != nil {
		return "", fmt.Errorf("backup folder %s: %w", o.BackupDir, err)
	}
	d.report.BackupDir = abs
	if o.Resume {
		st, found, err := readStateIfAny(abs)
		if err != nil {
			return "", err
		}
		if err := CheckResumable(abs, st, found, o.Namespace, d.srcID, d.dstID); err != nil {
			return "", err
		}
	}
	if d.folder, err = movelock.LockFolder(abs, d.holder); err != nil {
		return "", err
	}
	d.lock, err = movelock.Acquire(ctx, movelock.Options{Holder: d.holder, TakeOver: o.TakeOverLock, Duration: o.LeaseDuration, Log: d.log},
		movelock.Side{Name: "source", Client: d.src, Namespace: o.Namespace},
		movelock.Side{Name: "target", Client: d.dst, Namespace: o.Namespace, CreateNamespace: true})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("source and target are two clusters (%s; %s); Lease %s/%s and backup folder held by %s",
		d.srcID, d.dstID, o.Namespace, movelock.LeaseName, d.holder), nil
}

// readIdentities reads both identities and refuses one cluster.
func (d *driver) readIdentities(ctx context.Context) error {
	var g errgroup.Group
	g.Go(func() (err error) {
		d.srcID, err = kube.ReadIdentity(ctx, d.src, d.srcHost)
		return wrapSide("source", err)
	})
	g.Go(func() (err error) {
		d.dstID, err = kube.ReadIdentity(ctx, d.dst, d.dstHost)
		return wrapSide("target", err)
	})
	if err := g.Wait(); err != nil {
		return err
	}
	d.report.SourceCluster, d.report.TargetCluster = &d.srcID, &d.dstID
	return CheckDistinct(d.opts.Source.String(), d.opts.Target.String(), d.srcID, d.dstID)
}

// release gives back the Leases and the folder lock (success or failure).
func (d *driver) release(ctx context.Context) {
	if d.lock != nil {
		if err := d.lock.Release(ctx); err != nil {
			d.warn(err.Error())
		}
		d.lock = nil
	}
	if d.folder != nil {
		_ = d.folder.Unlock()
		d.folder = nil
	}
}

// recordAttempt writes the state — both clusters, the namespace, the
// resolved kubeconfigs — right before the first write, so that any later
// interruption leaves what a --resume needs.
func (d *driver) recordAttempt() error {
	if err := os.MkdirAll(d.report.BackupDir, 0o700); err != nil {
		return fmt.Errorf("creating backup folder %s: %w", d.report.BackupDir, err)
	}
	if err := os.Chmod(d.report.BackupDir, 0o700); err != nil {
		return fmt.Errorf("restricting backup folder %s: %w", d.report.BackupDir, err)
	}
	src, err := d.record(d.opts.Source, d.srcID)
	if err != nil {
		return err
	}
	dst, err := d.record(d.opts.Target, d.dstID)
	if err != nil {
		return err
	}
	d.state.Source, d.state.Target = src, dst
	return d.writeState()
}

func (d *driver) record(t kube.Cluster, id kube.Identity) (*ClusterRecord, error) {
	r, err := t.Resolve()
	if err != nil {
		return nil, err
	}
	return &ClusterRecord{Identity: id, Resolved: r}, nil
}

// readStateIfAny reads the state of dir; found is false when there is none.
func readStateIfAny(dir string) (State, bool, error) {
	if _, err := os.Stat(filepath.Join(dir, backupStateFile)); errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	st, err := readState(dir)
	return st, err == nil, err
}

// Interrupted is what the earlier attempt of a --resume recorded: a
// preflight engine reads findings in its light (InterruptedFrom).
type Interrupted struct {
	State State
	// Plan is the first attempt's plan (nil when it failed before its backup).
	Plan []mover.Object
}

type interruptedKey struct{}

// InterruptedFrom returns the earlier attempt when the preflight runs for
// a --resume (nil for a fresh move).
func InterruptedFrom(ctx context.Context) *Interrupted {
	in, _ := ctx.Value(interruptedKey{}).(*Interrupted)
	return in
}

// ensureRecorded writes this attempt's state once, before its first write.
func (d *driver) ensureRecorded() error {
	if d.recorded {
		return nil
	}
	if err := d.recordAttempt(); err != nil {
		return err
	}
	d.recorded = true
	return nil
}
