// Phase move: clusterctl move itself, and what a resume undoes around it.

package move

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

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

func (d *driver) move(ctx context.Context) (string, error) {
	if d.opts.Resume {
		// Right before clusterctl: the Clusters it left paused are
		// unpaused only now, so clusterctl can start again.
		if err := d.unpauseSourceForResume(ctx); err != nil {
			return "", err
		}
	}
	if !d.state.MoveStarted {
		d.state.MoveStarted = true
		if err := d.writeState(); err != nil {
			return "", err
		}
	}
	p := newProgress(d.opts.Out, d.opts.Terminal, len(d.plan))
	created, deleted := map[mover.Object]bool{}, map[mover.Object]bool{}
	on := func(e mover.Event) {
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
	err := mover.For(d.opts.Clusterctl).Move(ctx, mover.Options{From: d.opts.Source, To: d.opts.Target, Namespace: d.opts.Namespace, Log: d.log, Progress: on})
	p.finish()
	d.report.Created, d.report.Deleted = countDistinct(d.plan, created), countDistinct(d.plan, deleted)
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
