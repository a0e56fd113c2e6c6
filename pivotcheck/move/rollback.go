// pivotcheck rollback: return the source to where it was before a move
// that stopped before its commit point (clusterctl's first delete).

package move

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/movelock"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// Rollback action kinds, in the order they run: the target's copies go
// first (so no object is ever live on both sides), then the source's
// Clusters are unpaused, its Ironic comes back, and only then are its
// hosts handed back to its BMO (no host without Ironic and without a pause).
const (
	ActDeleteTarget        = "delete-target-object"
	ActUnpauseClusterClass = "unpause-source-clusterclass"
	ActUnpauseCluster      = "unpause-source-cluster"
	ActRecreateIronic      = "recreate-source-ironic"
	ActScaleIronic         = "scale-source-ironic"
	ActRestoreHost         = "restore-source-host"
)

var actionOrder = []string{ActDeleteTarget, ActUnpauseClusterClass, ActUnpauseCluster, ActRecreateIronic, ActScaleIronic, ActRestoreHost}

// RollbackAction is one write of a rollback.
type RollbackAction struct {
	Action string `json:"action"`
	// Object names what is written ("Kind namespace/name").
	Object string `json:"object"`
	// Detail says what changes, for people.
	Detail string `json:"detail,omitempty"`

	// What the I/O needs (not printed).
	target   *unstructured.Unstructured // ActDeleteTarget: the target object (its UID is the precondition)
	manifest *unstructured.Unstructured // ActRecreateIronic
	replicas int32                      // ActScaleIronic
	ns, name string
	patch    map[string]any // merge patch (clusters, classes, hosts)
}

// RollbackInput is everything PlanRollback decides on: the record of the
// move and what both clusters hold now.
type RollbackInput struct {
	BackupDir string
	Namespace string
	// State is nil when the folder has no pivotcheck-state.json.
	State *State
	// Plan is pivotcheck-plan.json (nil when the move stopped before its backup).
	Plan []mover.Object
	// Manifests are the saved Ironic manifests by record (nil when missing).
	Manifests map[string]*unstructured.Unstructured
	// SourceIronic is the live source object of each Ironic record (absent
	// when it does not exist).
	SourceIronic map[string]*unstructured.Unstructured
	SourceHosts  []bmov1alpha1.BareMetalHost
	// SourceClusters and SourceClusterClasses of the namespace.
	SourceClusters       []clusterv1.Cluster
	SourceClusterClasses []unstructured.Unstructured
	// SourcePlanned and TargetPlanned are the planned objects each side holds.
	SourcePlanned, TargetPlanned map[mover.Object]*unstructured.Unstructured
}

// RollbackRefusal is a refusal: nothing was written.
type RollbackRefusal struct{ Reason string }

func (r *RollbackRefusal) Error() string { return r.Reason }

func refuse(format string, a ...any) error {
	return &RollbackRefusal{Reason: fmt.Sprintf(format, a...)}
}

// PlanRollback decides, from the record and what the clusters hold now,
// the writes that return the source to where it was before the move, or
// refuses (pure). Every write is derived from the live state, so a second
// run after a kill plans only what is left.
func PlanRollback(in RollbackInput) ([]RollbackAction, error) {
	if err := checkRecord(in); err != nil {
		return nil, err
	}
	resume := resumeHint(in.BackupDir)
	st := in.State
	// A clusterctl binary's output is read after the fact: the source
	// itself shows whether clusterctl began deleting.
	for _, o := range in.Plan {
		u := in.SourcePlanned[o]
		why := ""
		switch {
		case u == nil:
			why = "is gone from the source"
		case u.GetDeletionTimestamp() != nil:
			why = "is being deleted from the source"
		default:
			if _, ok := u.GetAnnotations()[clusterctlv1.DeleteForMoveAnnotation]; ok {
				why = "carries clusterctl's " + clusterctlv1.DeleteForMoveAnnotation + " annotation"
			}
		}
		if why != "" {
			return nil, refuse("%s %s, so clusterctl began deleting from the source and the move cannot be rolled back: finish it with %s", o, why, resume)
		}
	}
	var acts []RollbackAction

	// The target: every object of a planned key whose UID was not there
	// before clusterctl ran is this move's copy.
	if st.TargetBefore != nil {
		before := map[string]bool{}
		for _, o := range st.TargetBefore.Objects {
			before[o.UID] = true
		}
		for _, o := range in.Plan {
			u := in.TargetPlanned[o]
			if u == nil || before[string(u.GetUID())] {
				continue
			}
			switch {
			case o.Kind == "Cluster" && o.Group == clusterv1.GroupVersion.Group:
				if p, _, _ := unstructured.NestedBool(u.Object, "spec", "paused"); !p {
					return nil, refuse("the target's copy of %s is not paused, so the target may already manage it and deleting it could tear the cluster down: pause it there or finish the move with %s", o, resume)
				}
			case o.Kind == "BareMetalHost" && o.Group == bmov1alpha1.GroupVersion.Group:
				if _, p := u.GetAnnotations()[bmov1alpha1.PausedAnnotation]; !p {
					return nil, refuse("the target's copy of %s is not paused, so the target's BMO may already manage it: pause it there or finish the move with %s", o, resume)
				}
			}
			acts = append(acts, RollbackAction{Action: ActDeleteTarget, Object: o.String(), Detail: "created in the target by this move (uid " + string(u.GetUID()) + ")", target: u})
		}
	}

	// Source Clusters and ClusterClasses that were running before the move.
	if st.SourcePause != nil {
		for _, cl := range in.SourceClusters {
			if slices.Contains(st.SourcePause.Clusters, cl.Name) && ptr.Deref(cl.Spec.Paused, false) {
				acts = append(acts, RollbackAction{Action: ActUnpauseCluster, Object: "Cluster " + cl.Namespace + "/" + cl.Name,
					Detail: "unpaused before the move", ns: cl.Namespace, name: cl.Name,
					patch: map[string]any{"spec": map[string]any{"paused": nil}}})
			}
		}
		for _, cc := range in.SourceClusterClasses {
			if _, p := cc.GetAnnotations()[clusterv1.PausedAnnotation]; p && slices.Contains(st.SourcePause.ClusterClasses, cc.GetName()) {
				acts = append(acts, RollbackAction{Action: ActUnpauseClusterClass, Object: "ClusterClass " + cc.GetNamespace() + "/" + cc.GetName(),
					Detail: "not paused before the move", ns: cc.GetNamespace(), name: cc.GetName(),
					patch: map[string]any{"metadata": map[string]any{"annotations": map[string]any{clusterv1.PausedAnnotation: nil}}}})
			}
		}
	}

	// The source Ironic. A workload owned by a stopped IrSO Ironic comes
	// back with it (the operator re-creates it).
	for _, r := range st.IronicWorkloads {
		live := in.SourceIronic[r.String()]
		if live != nil && live.GetDeletionTimestamp() != nil {
			return nil, refuse("Ironic %s is still being deleted from the source: run rollback again once it is gone", r)
		}
		if ownedByStopped(in, r) {
			continue
		}
		switch {
		case live == nil:
			m := in.Manifests[r.String()]
			if m == nil {
				return nil, refuse("the saved manifest %s of Ironic %s is missing or unreadable, so it cannot be re-created", filepath.Join(in.BackupDir, r.Manifest), r)
			}
			acts = append(acts, RollbackAction{Action: ActRecreateIronic, Object: r.String(), Detail: "re-created from " + r.Manifest, manifest: m})
		case r.Action == IronicScaled:
			if n, found, _ := unstructured.NestedInt64(live.Object, "spec", "replicas"); found && n == 0 {
				acts = append(acts, RollbackAction{Action: ActScaleIronic, Object: r.String(),
					Detail: fmt.Sprintf("scaled back to %d replica(s)", *r.Replicas), ns: r.Namespace, name: r.Name, replicas: *r.Replicas})
			}
		}
	}

	// Hosts: take back only what pivotcheck added, and only while it is
	// still what pivotcheck wrote.
	hosts := map[string]*bmov1alpha1.BareMetalHost{}
	for i := range in.SourceHosts {
		hosts[in.SourceHosts[i].Name] = &in.SourceHosts[i]
	}
	for _, r := range st.Hosts {
		h := hosts[r.Name]
		if h == nil {
			continue
		}
		ann := map[string]any{}
		var what []string
		if r.AddedPause && h.Annotations[bmov1alpha1.PausedAnnotation] == hostsafety.PivotcheckPauseValue {
			ann[bmov1alpha1.PausedAnnotation] = nil
			what = append(what, "pause removed")
		}
		if v, ok := h.Annotations[bmov1alpha1.StatusAnnotation]; ok && r.StatusSHA256 != "" && sha256Hex(v) == r.StatusSHA256 {
			if r.StatusBefore == nil {
				ann[bmov1alpha1.StatusAnnotation] = nil
				what = append(what, "status annotation removed")
			} else {
				ann[bmov1alpha1.StatusAnnotation] = *r.StatusBefore
				what = append(what, "earlier status annotation put back")
			}
		}
		if len(ann) > 0 {
			acts = append(acts, RollbackAction{Action: ActRestoreHost, Object: "BareMetalHost " + h.Namespace + "/" + h.Name,
				Detail: strings.Join(what, ", "), ns: h.Namespace, name: h.Name,
				patch: map[string]any{"metadata": map[string]any{"annotations": ann}}})
		}
	}
	slices.SortStableFunc(acts, func(a, b RollbackAction) int {
		return slices.Index(actionOrder, a.Action) - slices.Index(actionOrder, b.Action)
	})
	return acts, nil
}

func resumeHint(dir string) string {
	return fmt.Sprintf("pivotcheck move --resume --backup-dir %s", dir)
}

// checkRecord is what the record alone refuses (pure).
func checkRecord(in RollbackInput) error {
	st := in.State
	switch {
	case st == nil:
		return refuse("backup folder %s holds no %s, so there is no record of what the move changed and nothing can be rolled back safely", in.BackupDir, backupStateFile)
	case st.Namespace != "" && st.Namespace != in.Namespace:
		return refuse("backup folder %s records a move of namespace %s, not %s", in.BackupDir, st.Namespace, in.Namespace)
	case st.SourceDeleteStarted != nil:
		return refuse("the move recorded in %s passed its commit point at %s (clusterctl began deleting from the source), so it cannot be rolled back: finish it with %s", in.BackupDir, st.SourceDeleteStarted.Format(time.RFC3339), resumeHint(in.BackupDir))
	}
	return nil
}

// ownedByStopped: r's object (as saved) is owned by another stopped workload.
func ownedByStopped(in RollbackInput, r IronicRecord) bool {
	m := in.Manifests[r.String()]
	if m == nil {
		return false
	}
	for _, ref := range m.GetOwnerReferences() {
		for _, o := range in.State.IronicWorkloads {
			if o.Kind == ref.Kind && o.Name == ref.Name && o.Namespace == r.Namespace && o != r {
				return true
			}
		}
	}
	return false
}

// RollbackOptions configure one rollback.
type RollbackOptions struct {
	Source, Target kube.Cluster
	Namespace      string
	BackupDir      string
	Out            io.Writer
	Log            logr.Logger
	// TakeOverLock takes over the move's Lease when its holder is gone
	// (a killed move), as move --take-over-lock does.
	TakeOverLock bool
	// OnAction sees every action right before it is written (tests stop
	// the rollback here).
	OnAction func(RollbackAction)
}

// RollbackResult is what Rollback did.
type RollbackResult struct {
	Namespace string           `json:"namespace"`
	BackupDir string           `json:"backupDir"`
	Source    string           `json:"source"`
	Target    string           `json:"target"`
	Actions   []RollbackAction `json:"actions"`
	// Done is true once every action was written and the folder marked rolled back.
	Done     bool     `json:"done"`
	Warnings []string `json:"warnings,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// Rollback returns the source to where it was before the move recorded
// in opts.BackupDir, when that move stopped before its commit point. It
// reads the record and both clusters, decides (PlanRollback), and only
// then writes. It can be run again after a kill: it plans what is left.
func Rollback(ctx context.Context, opts RollbackOptions) (*RollbackResult, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	res := &RollbackResult{Namespace: opts.Namespace, BackupDir: opts.BackupDir, Source: opts.Source.String(), Target: opts.Target.String(), Actions: []RollbackAction{}}
	if opts.Namespace == "" {
		return res, errors.New("the namespace of the move is empty: pass -n")
	}
	if opts.BackupDir == "" {
		return res, errors.New("--backup-dir is required: the backup folder of the move to roll back")
	}
	abs, err := filepath.Abs(opts.BackupDir)
	if err != nil {
		return res, fmt.Errorf("backup folder %s: %w", opts.BackupDir, err)
	}
	res.BackupDir = abs
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return res, fmt.Errorf("backup folder %s does not exist or is not a folder", abs)
	}
	in := RollbackInput{BackupDir: abs, Namespace: opts.Namespace, Manifests: map[string]*unstructured.Unstructured{}, SourceIronic: map[string]*unstructured.Unstructured{}}
	if _, err := os.Stat(filepath.Join(abs, backupStateFile)); err == nil {
		st, err := readState(abs)
		if err != nil {
			return res, err
		}
		in.State = &st
	} else if !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("reading %s in %s: %w", backupStateFile, abs, err)
	}
	if in.State != nil {
		if in.Plan, err = readPlan(abs); err != nil {
			return res, err
		}
		for _, r := range in.State.IronicWorkloads {
			raw, err := os.ReadFile(filepath.Join(abs, r.Manifest))
			if err != nil {
				continue // PlanRollback refuses when it needs it
			}
			// Checked like a backup file, then decoded as JSON (as saved),
			// so numbers stay integers.
			objs, err := ParseBackupFile(r.Manifest, raw)
			if err != nil || len(objs) != 1 {
				continue
			}
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(raw); err != nil {
				u = objs[0].Raw
			}
			in.Manifests[r.String()] = u
		}
	}
	// What the record alone refuses is refused before any cluster is contacted.
	if err := checkRecord(in); err != nil {
		return res, err
	}
	src, _, err := opts.Source.Client(clientRate)
	if err != nil {
		return res, fmt.Errorf("source cluster: %w", err)
	}
	dst, _, err := opts.Target.Client(clientRate)
	if err != nil {
		return res, fmt.Errorf("target cluster: %w", err)
	}
	release, err := guardRollback(ctx, opts, in.State, src, dst)
	if err != nil {
		return res, err
	}
	defer release()
	if in.State != nil {
		if err := observeForRollback(ctx, src, dst, &in); err != nil {
			return res, err
		}
	}
	acts, err := PlanRollback(in)
	if err != nil {
		return res, err
	}
	res.Actions = acts
	fmt.Fprintf(opts.Out, "==> rollback of namespace %s: %d write(s)\n", opts.Namespace, len(acts))
	if len(acts) > 0 && in.State.RollbackStarted == nil {
		// Before the first write: a half-done rollback must not be resumed as a move.
		now := time.Now().UTC()
		in.State.RollbackStarted = &now
		if err := writeStateFile(abs, in.State); err != nil {
			return res, err
		}
	}
	for _, a := range acts {
		if opts.OnAction != nil {
			opts.OnAction(a)
		}
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("stopped before %s %s (run rollback again to finish): %w", a.Action, a.Object, err)
		}
		if err := applyRollback(ctx, src, dst, a); err != nil {
			return res, fmt.Errorf("%s %s (run rollback again to finish): %w", a.Action, a.Object, err)
		}
		fmt.Fprintf(opts.Out, "    %s %s: %s\n", a.Action, a.Object, a.Detail)
	}
	now := time.Now().UTC()
	in.State.RolledBack = &now
	if err := writeStateFile(abs, in.State); err != nil {
		return res, err
	}
	res.Done = true
	if s, err := ironic.List(ctx, dst); err == nil {
		if running := ironic.Running(s, ironic.DefaultWorkloads); len(running) > 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("an Ironic runs in the target (%s) as well as in the source now: two Ironic instances on one provisioning network fight over its VIP and DHCP, stop one", instances(running)))
		}
	}
	return res, nil
}

// guardRollback is the one place where rollback makes sure the two
// kubeconfigs name two different clusters, that they are the two clusters
// the record belongs to, and that no move or rollback of this namespace
// runs at the same time (the backup folder's lock and the move's Lease in
// both clusters), before anything is read for the decision. The returned
// release ends the locks.
func guardRollback(ctx context.Context, opts RollbackOptions, st *State, src, dst client.Client) (release func(), err error) {
	srcID, dstID, err := ClusterIdentities(ctx, opts.Source, opts.Target)
	if err != nil {
		return nil, err
	}
	if err := CheckDistinct(opts.Source.String(), opts.Target.String(), srcID, dstID); err != nil {
		return nil, err
	}
	if st != nil && st.Source != nil && st.Target != nil && (!st.Source.Identity.Same(srcID) || !st.Target.Identity.Same(dstID)) {
		return nil, fmt.Errorf("rollback: backup folder %s records a move from the cluster with kube-system UID %s to %s, not from %s to %s: nothing was changed; pass the kubeconfigs of that move (its state names them: %s, %s)",
			opts.BackupDir, st.Source.Identity.UID, st.Target.Identity.UID, srcID.UID, dstID.UID, recordName(st.Source), recordName(st.Target))
	}
	holder := movelock.NewHolder()
	folder, err := movelock.LockFolder(opts.BackupDir, holder)
	if err != nil {
		return nil, err
	}
	lock, err := movelock.Acquire(ctx, movelock.Options{Holder: holder, TakeOver: opts.TakeOverLock, Log: opts.Log},
		movelock.Side{Name: "source", Client: src, Namespace: opts.Namespace},
		movelock.Side{Name: "target", Client: dst, Namespace: opts.Namespace})
	if err != nil {
		_ = folder.Unlock()
		return nil, err
	}
	return func() {
		// Released with a fresh context: a Ctrl-C must not leave the Lease held.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = lock.Release(rctx)
		_ = folder.Unlock()
	}, nil
}

// readPlan reads pivotcheck-plan.json (nil when absent).
func readPlan(dir string) ([]mover.Object, error) {
	raw, err := os.ReadFile(filepath.Join(dir, backupPlanFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading %s in %s: %w", backupPlanFile, dir, err)
	}
	plan, err := ParsePlan(raw)
	if err != nil {
		return nil, fmt.Errorf("%s in %s: %w", backupPlanFile, dir, err)
	}
	return plan, nil
}

// observeForRollback reads what PlanRollback looks at.
func observeForRollback(ctx context.Context, src, dst client.Client, in *RollbackInput) error {
	ns := in.Namespace
	for _, r := range in.State.IronicWorkloads {
		u, err := instanceObject(r.Kind)
		if err != nil {
			return err
		}
		err = src.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: r.Name}, u)
		switch {
		case err == nil:
			in.SourceIronic[r.String()] = u
		case apierrors.IsNotFound(err) || kube.KindMissing(err):
		default:
			return fmt.Errorf("reading source Ironic %s: %w", r, err)
		}
	}
	hosts := &bmov1alpha1.BareMetalHostList{}
	if err := src.List(ctx, hosts, client.InNamespace(ns)); err != nil && !kube.KindMissing(err) {
		return fmt.Errorf("listing source BareMetalHosts in %s: %w", ns, err)
	}
	in.SourceHosts = hosts.Items
	cls := &clusterv1.ClusterList{}
	if err := src.List(ctx, cls, client.InNamespace(ns)); err != nil && !kube.KindMissing(err) {
		return fmt.Errorf("listing source Clusters in %s: %w", ns, err)
	}
	in.SourceClusters = cls.Items
	ccs := &unstructured.UnstructuredList{}
	ccs.SetGroupVersionKind(clusterClassListGVK)
	if err := src.List(ctx, ccs, client.InNamespace(ns)); err != nil && !kube.KindMissing(err) {
		return fmt.Errorf("listing source ClusterClasses in %s: %w", ns, err)
	}
	in.SourceClusterClasses = ccs.Items
	var err error
	if in.SourcePlanned, err = plannedObjects(ctx, src, ns, in.Plan); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if in.State.TargetBefore != nil {
		if in.TargetPlanned, err = plannedObjects(ctx, dst, ns, in.Plan); err != nil {
			return fmt.Errorf("target: %w", err)
		}
	}
	return nil
}

// applyRollback writes one action; each is idempotent (a second run after
// a kill finds it done or does it again harmlessly).
func applyRollback(ctx context.Context, src, dst client.Client, a RollbackAction) error {
	mergePatch := func(c client.Client, obj client.Object, p map[string]any) error {
		raw, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return retryWrite(ctx, func() error {
			return c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, raw))
		})
	}
	switch a.Action {
	case ActDeleteTarget:
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(a.target.GroupVersionKind())
		u.SetNamespace(a.target.GetNamespace())
		u.SetName(a.target.GetName())
		uid := a.target.GetUID()
		// Finalizers first, the UID as precondition: nothing in the target
		// acts on the deletion of a copy it never managed, and an object
		// re-created under the same name since is left alone.
		if len(a.target.GetFinalizers()) > 0 {
			err := mergePatch(dst, u, map[string]any{"metadata": map[string]any{"uid": string(uid), "finalizers": nil}})
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
		err := retryWrite(ctx, func() error {
			return dst.Delete(ctx, u, client.Preconditions{UID: &uid}, client.PropagationPolicy(metav1.DeletePropagationBackground))
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return nil
	case ActRecreateIronic:
		u := a.manifest.DeepCopy()
		err := retryWrite(ctx, func() error { return src.Create(ctx, u) })
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	case ActScaleIronic:
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(schemaDeployment)
		u.SetNamespace(a.ns)
		u.SetName(a.name)
		return mergePatch(src, u, map[string]any{"spec": map[string]any{"replicas": a.replicas}})
	case ActUnpauseCluster:
		cl := &clusterv1.Cluster{}
		cl.Namespace, cl.Name = a.ns, a.name
		return mergePatch(src, cl, a.patch)
	case ActUnpauseClusterClass:
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(clusterv1.GroupVersion.WithKind("ClusterClass"))
		u.SetNamespace(a.ns)
		u.SetName(a.name)
		return mergePatch(src, u, a.patch)
	case ActRestoreHost:
		h := &bmov1alpha1.BareMetalHost{}
		h.Namespace, h.Name = a.ns, a.name
		return mergePatch(src, h, a.patch)
	}
	return fmt.Errorf("unknown rollback action %q", a.Action)
}

var schemaDeployment = appsv1.SchemeGroupVersion.WithKind("Deployment")

// writeStateFile records st in the backup folder dir (atomically).
func writeStateFile(dir string, st *State) error {
	raw, err := jsonIndent(st)
	if err != nil {
		return fmt.Errorf("encoding the move's state: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, backupStateFile), raw); err != nil {
		return fmt.Errorf("recording the rollback in %s: %w", dir, err)
	}
	return nil
}
