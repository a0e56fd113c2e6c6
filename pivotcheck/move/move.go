// Phase move: clusterctl move itself, and what a resume undoes around it.

package move

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// unpauseSourceForResume undoes the pause a failed clusterctl move left on
// the source Clusters, right before the move is re-run. It refuses when a
// target copy of a Cluster is already unpaused: both sides would then run.
func (d *driver) unpauseSourceForResume(ctx context.Context) error {
	cls := &clusterv1.ClusterList{}
	if err := d.src.List(ctx, cls, client.InNamespace(d.opts.Namespace)); err != nil {
		return fmt.Errorf("listing source Clusters in %s: %w", d.opts.Namespace, err)
	}
	for i := range cls.Items {
		cl := &cls.Items[i]
		if !ptr.Deref(cl.Spec.Paused, false) {
			continue
		}
		tc := &clusterv1.Cluster{}
		err := d.dst.Get(ctx, client.ObjectKeyFromObject(cl), tc)
		switch {
		case err == nil && !ptr.Deref(tc.Spec.Paused, false):
			return fmt.Errorf("cluster %s/%s is paused in the source but already unpaused in the target: refusing to unpause the source (both sides would reconcile it)", cl.Namespace, cl.Name)
		case err != nil && !apierrors.IsNotFound(err):
			return fmt.Errorf("reading the target copy of Cluster %s/%s: %w", cl.Namespace, cl.Name, err)
		}
		err = retryWrite(ctx, func() error {
			return d.src.Patch(ctx, cl, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"paused":null}}`)))
		})
		if err != nil {
			return fmt.Errorf("unpausing source Cluster %s/%s for the re-run: %w", cl.Namespace, cl.Name, err)
		}
		d.log.Info("unpaused the source Cluster left paused by the failed move", "cluster", cl.Name)
	}
	return nil
}

// pausedSourceClusters names the source Clusters with spec.paused.
func (d *driver) pausedSourceClusters(ctx context.Context) ([]string, error) {
	cls := &clusterv1.ClusterList{}
	if err := d.src.List(ctx, cls, client.InNamespace(d.opts.Namespace)); err != nil {
		return nil, fmt.Errorf("listing source Clusters in %s: %w", d.opts.Namespace, err)
	}
	var out []string
	for _, cl := range cls.Items {
		if ptr.Deref(cl.Spec.Paused, false) {
			out = append(out, cl.Name)
		}
	}
	return out, nil
}

// backupPlan is what the backup saves. clusterctl's dry run refuses to
// plan while a Cluster is paused, and a resume keeps the Clusters an
// interrupted clusterctl paused paused until the move phase (unpaused
// earlier, CAPI would reconcile them in the source while the Ironic
// hand-over waits). So a resume with paused Clusters saves the objects of
// the first attempt's plan that the source still holds; otherwise the plan
// is clusterctl's, as on a first attempt.
func (d *driver) backupPlan(ctx context.Context) ([]mover.Object, error) {
	if !d.opts.Resume {
		return d.qualifiedPlan(ctx)
	}
	paused, err := d.pausedSourceClusters(ctx)
	if err != nil {
		return nil, err
	}
	if len(paused) == 0 {
		return d.qualifiedPlan(ctx)
	}
	if d.previous == nil || !d.state.MoveStarted {
		return nil, fmt.Errorf("source Cluster(s) %s are paused, and not by this move's clusterctl (the earlier attempt never started it): unpause them or find who paused them", strings.Join(paused, ", "))
	}
	kinds, err := movableKinds(ctx, d.src)
	if err != nil {
		return nil, err
	}
	only := map[string]bool{}
	for _, o := range d.previous {
		only[o.Kind] = true
	}
	inv, err := inventory(ctx, d.src, d.opts.Namespace, kinds, only)
	if err != nil {
		return nil, err
	}
	var plan []mover.Object
	for _, o := range d.previous {
		if inv[o] > 0 {
			plan = append(plan, o)
		}
	}
	return plan, nil
}

// unmarkSourceForResume removes clusterctl's delete-for-move annotation
// from the source objects a failed delete pass marked but did not delete.
// The re-run copies each source object's annotations to its target copy
// again, and a target object carrying that annotation is later deleted by
// its controller as if it had been moved away (no cleanup). An object
// already being deleted keeps it: there, it is what stops its controller
// from tearing down what the object stands for.
func (d *driver) unmarkSourceForResume(ctx context.Context) error {
	objs, err := plannedObjects(ctx, d.src, d.opts.Namespace, d.previous)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	for _, o := range d.previous {
		u := objs[o]
		if u == nil || u.GetDeletionTimestamp() != nil {
			continue
		}
		if _, ok := u.GetAnnotations()[clusterctlv1.DeleteForMoveAnnotation]; !ok {
			continue
		}
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:null}}}`, clusterctlv1.DeleteForMoveAnnotation)
		err := retryWrite(ctx, func() error {
			return d.src.Patch(ctx, u, client.RawPatch("application/merge-patch+json", patch))
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("removing the %s annotation a failed move left on %s: %w", clusterctlv1.DeleteForMoveAnnotation, o, err)
		}
	}
	return nil
}

func (d *driver) move(ctx context.Context) (string, error) {
	if d.opts.Resume {
		// Right before clusterctl: the Clusters it left paused are
		// unpaused only now, so clusterctl can start again.
		if err := d.unpauseSourceForResume(ctx); err != nil {
			return "", err
		}
	}
	if err := d.recordBeforeClusterctl(ctx); err != nil {
		return "", err
	}
	if !d.state.MoveStarted {
		d.state.MoveStarted = true
		if err := d.writeState(); err != nil {
			return "", err
		}
	}
	p := newProgress(d.opts.Out, d.opts.Terminal, len(d.plan))
	created, deleted := map[mover.Object]bool{}, map[mover.Object]bool{}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var commitErr error
	on := func(e mover.Event) {
		if d.state.SourceDeleteStarted == nil && commitErr == nil && (e.Action == mover.Deleting || e.Phase == mover.PhaseDeleting) {
			// The commit point. The linked library calls this before its
			// first delete, so the record precedes the delete; if it
			// cannot be written the move stops before that delete.
			now := time.Now().UTC()
			d.state.SourceDeleteStarted = &now
			if commitErr = d.writeState(); commitErr != nil {
				d.state.SourceDeleteStarted = nil
				cancel()
			}
		}
		if e.Object.Kind == "Namespace" {
			// clusterctl creates the namespace too; it is not part of the plan.
			return
		}
		switch e.Action {
		case mover.Creating:
			created[e.Object] = true
		case mover.Deleting:
			deleted[e.Object] = true
		case "":
			d.moveStep = e.Phase
		}
		p.event(e)
		if d.opts.OnEvent != nil {
			d.opts.OnEvent(e)
		}
	}
	err := mover.For(d.opts.Clusterctl).Move(mctx, mover.Options{From: d.opts.Source, To: d.opts.Target, Namespace: d.opts.Namespace, Log: d.log, Progress: on})
	p.finish()
	d.report.Created, d.report.Deleted = countDistinct(d.plan, created), countDistinct(d.plan, deleted)
	if nb := NotInPlan(d.plan, created); len(nb) > 0 {
		d.report.NotBackedUp = nb
		d.warn(fmt.Sprintf("clusterctl moved %d object(s) the backup does not hold (created or given an owner after the plan was computed)%s", len(nb), objs(nb)))
	}
	if commitErr != nil {
		return "", fmt.Errorf("stopped before clusterctl's first delete from the source: %w", commitErr)
	}
	if err != nil {
		if d.moveStep != "" {
			return "", fmt.Errorf("clusterctl failed at its step %q: %w", d.moveStep, err)
		}
		return "", err
	}
	if d.opts.Resume {
		if err := d.resumeTargetClusters(ctx); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%d created in the target, %d deleted from the source", d.report.Created, d.report.Deleted), nil
}

// countDistinct counts the planned objects whose (group-less) key clusterctl
// logged: each object once however often a retry logged it, and both
// objects when two groups share the kind and name.
func countDistinct(plan []mover.Object, logged map[mover.Object]bool) int {
	n := 0
	for _, o := range plan {
		if logged[o.Unqualified()] {
			n++
		}
	}
	return n
}

// NotInPlan lists the objects clusterctl logged (group-less keys) that no
// planned object stands for: moved, but not in the backup (pure).
func NotInPlan(plan []mover.Object, logged map[mover.Object]bool) []mover.Object {
	in := map[mover.Object]bool{}
	for _, o := range plan {
		in[o.Unqualified()] = true
	}
	var out []mover.Object
	for o := range logged {
		if !in[o.Unqualified()] {
			out = append(out, o)
		}
	}
	mover.SortObjects(out)
	return out
}

// resumeTargetClusters unpauses target Clusters that a failed attempt left
// paused after it had already deleted them from the source (a failure in
// clusterctl's last step): the re-run's graph no longer holds them, so
// clusterctl will not unpause them itself.
func (d *driver) resumeTargetClusters(ctx context.Context) error {
	cls := &clusterv1.ClusterList{}
	if err := d.dst.List(ctx, cls, client.InNamespace(d.opts.Namespace)); err != nil {
		return fmt.Errorf("listing target Clusters in %s: %w", d.opts.Namespace, err)
	}
	for i := range cls.Items {
		cl := &cls.Items[i]
		if !ptr.Deref(cl.Spec.Paused, false) {
			continue
		}
		err := d.src.Get(ctx, client.ObjectKeyFromObject(cl), &clusterv1.Cluster{})
		if err == nil {
			continue // still in the source: not ours to unpause
		}
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading source Cluster %s/%s: %w", cl.Namespace, cl.Name, err)
		}
		err = retryWrite(ctx, func() error {
			return d.dst.Patch(ctx, cl, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"paused":null}}`)))
		})
		if err != nil {
			return fmt.Errorf("unpausing target Cluster %s/%s left paused by the failed move: %w", cl.Namespace, cl.Name, err)
		}
	}
	return nil
}

// recordBeforeClusterctl records, before clusterctl's first write, which
// source Clusters and ClusterClasses are not paused (clusterctl pauses
// them) and which target objects of planned keys exist already. A resume
// keeps what the first attempt recorded: that is the state before the move.
func (d *driver) recordBeforeClusterctl(ctx context.Context) error {
	changed := false
	if d.state.SourcePause == nil {
		pr, err := unpausedRoots(ctx, d.src, d.opts.Namespace)
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		d.state.SourcePause, changed = pr, true
	}
	if d.state.TargetBefore == nil {
		objs, err := plannedObjects(ctx, d.dst, d.opts.Namespace, d.plan)
		if err != nil {
			return fmt.Errorf("target: %w", err)
		}
		tr := &TargetRecord{Objects: []TargetObject{}}
		for _, o := range d.plan {
			if u := objs[o]; u != nil {
				tr.Objects = append(tr.Objects, TargetObject{Object: o, UID: string(u.GetUID())})
			}
		}
		d.state.TargetBefore, changed = tr, true
	}
	if !changed {
		return nil
	}
	return d.writeState()
}

// clusterClassListGVK is read unstructured: a cluster may lack the CRD.
var clusterClassListGVK = clusterv1.GroupVersion.WithKind("ClusterClassList")

// unpausedRoots lists the Clusters (spec.paused) and ClusterClasses
// (cluster.x-k8s.io/paused annotation) of ns that are not paused.
func unpausedRoots(ctx context.Context, c client.Client, ns string) (*PauseRecord, error) {
	pr := &PauseRecord{Clusters: []string{}, ClusterClasses: []string{}}
	cls := &clusterv1.ClusterList{}
	if err := c.List(ctx, cls, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing Clusters in %s: %w", ns, err)
	}
	for _, cl := range cls.Items {
		if !ptr.Deref(cl.Spec.Paused, false) {
			pr.Clusters = append(pr.Clusters, cl.Name)
		}
	}
	ccs := &unstructured.UnstructuredList{}
	ccs.SetGroupVersionKind(clusterClassListGVK)
	if err := c.List(ctx, ccs, client.InNamespace(ns)); err != nil && !kube.KindMissing(err) {
		return nil, fmt.Errorf("listing ClusterClasses in %s: %w", ns, err)
	}
	for _, cc := range ccs.Items {
		if _, ok := cc.GetAnnotations()[clusterv1.PausedAnnotation]; !ok {
			pr.ClusterClasses = append(pr.ClusterClasses, cc.GetName())
		}
	}
	return pr, nil
}

// plannedObjects reads the objects of plan that exist in c (one list per
// kind and group), keyed by planned object.
func plannedObjects(ctx context.Context, c client.Client, ns string, plan []mover.Object) (map[mover.Object]*unstructured.Unstructured, error) {
	out := map[mover.Object]*unstructured.Unstructured{}
	if len(plan) == 0 {
		return out, nil
	}
	kinds, err := movableKinds(ctx, c)
	if err != nil {
		return nil, err
	}
	want := map[mover.Object]bool{}
	need := map[schema.GroupKind]bool{}
	for _, o := range plan {
		want[o] = true
		need[schema.GroupKind{Group: o.Group, Kind: o.Kind}] = true
	}
	var gvks []schema.GroupVersionKind
	for gk := range need {
		for _, gvk := range kinds[gk.Kind] {
			if gvk.Group == gk.Group {
				gvks = append(gvks, gvk)
			}
		}
	}
	err = listEach(ctx, c, ns, gvks, func(gvk schema.GroupVersionKind, l *unstructured.UnstructuredList) error {
		for i := range l.Items {
			k := mover.Object{Group: gvk.Group, Kind: gvk.Kind, Namespace: ns, Name: l.Items[i].GetName()}
			if want[k] {
				out[k] = &l.Items[i]
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
