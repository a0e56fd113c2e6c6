package move

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

func (d *driver) planKinds() map[string]bool {
	m := map[string]bool{}
	for _, o := range d.plan {
		m[o.Kind] = true
	}
	return m
}

// countPresent counts planned objects present in c.
func (d *driver) countPresent(ctx context.Context, c client.Client) (int, error) {
	kinds, err := movableKinds(ctx, c)
	if err != nil {
		return 0, err
	}
	inv, err := inventory(ctx, c, d.opts.Namespace, kinds, d.planKinds())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range d.plan {
		if inv[o] > 0 {
			n++
		}
	}
	return n, nil
}

// VerifyResult lists what is wrong after a move (pure comparison).
type VerifyResult struct {
	Missing, Duplicated, StillInSource, LeftBehind []mover.Object
}

// CompareInventories checks every planned object is in the target exactly
// once and gone from the source; source objects not in the plan are left behind.
func CompareInventories(plan []mover.Object, target, source map[mover.Object]int) VerifyResult {
	var r VerifyResult
	inPlan := map[mover.Object]bool{}
	for _, o := range plan {
		inPlan[o] = true
		switch n := target[o]; {
		case n == 0:
			r.Missing = append(r.Missing, o)
		case n > 1:
			r.Duplicated = append(r.Duplicated, o)
		}
		if source[o] > 0 {
			r.StillInSource = append(r.StillInSource, o)
		}
	}
	for o := range source {
		if inPlan[o] || ignoredLeftover(o) {
			continue
		}
		r.LeftBehind = append(r.LeftBehind, o)
	}
	mover.SortObjects(r.LeftBehind)
	return r
}

// ignoredLeftover: objects every namespace has, never part of a pivot.
func ignoredLeftover(o mover.Object) bool {
	return o.Kind == "ConfigMap" && o.Name == "kube-root-ca.crt"
}

func objs(os []mover.Object) string {
	var s []string
	for _, o := range os {
		s = append(s, o.String())
	}
	return listSuffix(s)
}

func (d *driver) verify(ctx context.Context) (string, error) {
	ns := d.opts.Namespace
	// Every read of both clusters at once: nothing is written before all
	// of them are in and compared.
	var tinv, sinv map[mover.Object]int
	cls := &clusterv1.ClusterList{}
	hosts := &bmov1alpha1.BareMetalHostList{}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		kinds, err := movableKinds(gctx, d.dst)
		if err == nil {
			tinv, err = inventory(gctx, d.dst, ns, kinds, d.planKinds())
		}
		if err != nil {
			return fmt.Errorf("target: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		kinds, err := movableKinds(gctx, d.src)
		if err == nil {
			sinv, err = inventory(gctx, d.src, ns, kinds, nil)
		}
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := d.dst.List(gctx, cls, client.InNamespace(ns)); err != nil {
			return fmt.Errorf("listing target Clusters in %s: %w", ns, err)
		}
		return nil
	})
	g.Go(func() error {
		if err := d.dst.List(gctx, hosts, client.InNamespace(ns)); err != nil {
			return fmt.Errorf("listing target BareMetalHosts in %s: %w", ns, err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return "", err
	}
	r := CompareInventories(d.plan, tinv, sinv)
	d.report.LeftBehind = r.LeftBehind
	if len(r.LeftBehind) > 0 {
		d.warn(fmt.Sprintf("%d object(s) of movable kinds stay in the source namespace (not in clusterctl's plan)%s", len(r.LeftBehind), objs(r.LeftBehind)))
	}
	var problems []string
	if len(r.Missing) > 0 {
		problems = append(problems, fmt.Sprintf("%d planned object(s) missing in the target%s", len(r.Missing), objs(r.Missing)))
	}
	if len(r.Duplicated) > 0 {
		problems = append(problems, fmt.Sprintf("%d object(s) present more than once in the target%s", len(r.Duplicated), objs(r.Duplicated)))
	}
	if len(r.StillInSource) > 0 {
		problems = append(problems, fmt.Sprintf("%d moved object(s) still in the source%s", len(r.StillInSource), objs(r.StillInSource)))
	}
	for _, cl := range cls.Items {
		if ptr.Deref(cl.Spec.Paused, false) {
			problems = append(problems, fmt.Sprintf("Cluster %s/%s is still paused in the target", ns, cl.Name))
		}
	}
	expect := map[string]bmov1alpha1.BareMetalHostStatus{}
	var noStatus []string
	for _, h := range hosts.Items {
		raw, ok := h.Annotations[bmov1alpha1.StatusAnnotation]
		if !ok {
			switch {
			case h.Status.LastUpdated != nil:
			case hostsafety.Consumed(&h):
				noStatus = append(noStatus, h.Name)
			default:
				d.warn(fmt.Sprintf("BareMetalHost %s/%s arrived in the target without status: the target BMO will inspect it again", ns, h.Name))
			}
			continue
		}
		var st bmov1alpha1.BareMetalHostStatus
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			problems = append(problems, fmt.Sprintf("BareMetalHost %s/%s carries an unreadable %s annotation: %v", ns, h.Name, bmov1alpha1.StatusAnnotation, err))
			continue
		}
		expect[h.Name] = st
	}
	if len(noStatus) > 0 {
		problems = append(problems, fmt.Sprintf("BareMetalHost(s) %s arrived in the target without status annotation: left paused so BMO does not re-register them", strings.Join(noStatus, ", ")))
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	if d.opts.IronicURL != "" {
		// Hand no host to a BMO whose Ironic does not answer: they stay paused.
		if _, err := d.checkIronicAPI(ctx, "after the move (hosts left paused)"); err != nil {
			return "", err
		}
	}
	// Everything is in place: hand the hosts to the target BMO.
	var mine []*bmov1alpha1.BareMetalHost
	var unpaused []string
	for i := range hosts.Items {
		h := &hosts.Items[i]
		if h.Annotations[bmov1alpha1.PausedAnnotation] == hostsafety.PivotcheckPauseValue {
			mine = append(mine, h)
			unpaused = append(unpaused, h.Name)
		}
	}
	err := parallel(ctx, len(mine), func(ctx context.Context, i int) error {
		h := mine[i]
		return retryWrite(ctx, func() error {
			// resourceVersion makes the patch fail if someone changed the
			// host since the check; on that conflict the host is read and
			// checked again before the next attempt.
			patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:null},"resourceVersion":%q}}`, bmov1alpha1.PausedAnnotation, h.ResourceVersion)
			err := d.dst.Patch(ctx, h, client.RawPatch("application/merge-patch+json", []byte(patch)))
			if apierrors.IsConflict(err) {
				fresh := &bmov1alpha1.BareMetalHost{}
				if gerr := d.dst.Get(ctx, client.ObjectKeyFromObject(h), fresh); gerr != nil {
					return fmt.Errorf("re-reading BareMetalHost %s/%s in the target after a conflict: %w", ns, h.Name, gerr)
				}
				if fresh.Annotations[bmov1alpha1.PausedAnnotation] != hostsafety.PivotcheckPauseValue {
					return nil // someone else took over the pause: theirs to lift
				}
				if _, ok := fresh.Annotations[bmov1alpha1.StatusAnnotation]; !ok && fresh.Status.LastUpdated == nil {
					return fmt.Errorf("BareMetalHost %s/%s lost its status annotation in the target while paused: left paused", ns, h.Name)
				}
				*h = *fresh
			}
			if err != nil {
				return fmt.Errorf("removing pivotcheck's pause from BareMetalHost %s/%s in the target: %w", ns, h.Name, err)
			}
			return nil
		})
	})
	if err != nil {
		return "", err
	}
	detail := fmt.Sprintf("%d objects in the target exactly once, none left in the source, %d Cluster(s) unpaused, %d host(s) handed to the target BMO", len(d.plan), len(cls.Items), len(unpaused))
	if d.opts.WaitForHosts && len(expect) > 0 {
		// Every host that arrived with its status, also those CAPM3 unpauses
		// itself; not those paused by someone else: they stay paused, with
		// their status, until that pause is lifted, and are no one's to wait for.
		var wait []string
		for i := range hosts.Items {
			h := &hosts.Items[i]
			if _, ok := expect[h.Name]; !ok {
				continue
			}
			if v, foreign := hostsafety.ForeignPause(h); foreign {
				d.warn(fmt.Sprintf("BareMetalHost %s/%s stays paused by %q in the target: its BMO adopts it, from the status it carries, once that pause is removed", ns, h.Name, v))
				continue
			}
			wait = append(wait, h.Name)
		}
		slices.Sort(wait)
		adopted, err := d.waitForHosts(ctx, wait, expect)
		if err != nil {
			return "", err
		}
		detail += ", " + adopted
	}
	return detail, nil
}

// dryRun runs only reads: preflight, the checks (their host patches are
// server-side dry runs), clusterctl's dry-run plan, and what each phase
// would do.
func (d *driver) dryRun(ctx context.Context) error {
	o := d.opts
	if o.Preflight != nil {
		if err := d.phase(withPlanSink(ctx, &d.preflightPlan), PhasePreflight, d.preflight); err != nil {
			return err
		}
	}
	if err := d.phase(ctx, PhaseChecks, d.checks); err != nil {
		return err
	}
	return d.phase(ctx, PhasePlan, func(ctx context.Context) (string, error) {
		plan, err := d.qualifiedPlan(ctx)
		if err != nil {
			return "", err
		}
		d.setPlan(plan)
		var would []string
		if o.FixOwners {
			hosts, secrets, clusters, tmpl, pools, err := listOwnerInputs(ctx, d.src, o.Namespace)
			if err != nil {
				return "", err
			}
			fixes := PlanOwnerFixes(hosts, secrets, clusters, tmpl, pools)
			var fs []string
			for _, f := range fixes {
				fs = append(fs, f.String())
			}
			would = append(would, fmt.Sprintf("%s: %d fix(es)%s", PhaseOwners, len(fixes), listSuffix(fs)))
		}
		actions, _, _, err := d.planHosts(ctx)
		if err != nil {
			return "", err
		}
		n := 0
		for _, a := range actions {
			if a.Patch != nil {
				n++
			}
		}
		would = append(would, fmt.Sprintf("%s: annotate and pause %d of %d host(s)", PhaseHosts, n, len(actions)))
		would = append(would, fmt.Sprintf("%s: save %d objects to %s", PhaseBackup, len(plan), o.BackupDir))
		s, err := ironic.List(ctx, d.src)
		if err != nil {
			return "", fmt.Errorf("source: %w", err)
		}
		would = append(would, fmt.Sprintf("%s: %s the source Ironic (%s)", PhaseIronic, o.IronicHandover, instances(ironicRunning(s, o))))
		would = append(would, fmt.Sprintf("%s: move %d objects with clusterctl", PhaseMove, len(plan)))
		for _, w := range would {
			d.report.Phases = append(d.report.Phases, PhaseResult{Name: strings.SplitN(w, ":", 2)[0], Status: statusPlanned, Detail: strings.TrimSpace(strings.SplitN(w, ":", 2)[1])})
		}
		return fmt.Sprintf("%d objects would move (%s); nothing was changed", len(plan), d.planNote), nil
	})
}
