package move

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/scheme"
)

type driver struct {
	opts   Options
	src    client.Client
	dst    client.Client
	report *Report
	log    logr.Logger
	plan   []mover.Object
	// previous is the plan of an earlier attempt (resume), state what
	// pivotcheck recorded about its own irreversible steps.
	previous []mover.Object
	state    State
	// moveStep is clusterctl's last step message (pausing, creating, deleting...).
	moveStep string
}

// PhaseError is returned when a phase fails; the report says what exists
// on each side and how to resume.
type PhaseError struct {
	Phase string
	Err   error
}

func (e *PhaseError) Error() string { return fmt.Sprintf("phase %s failed: %v", e.Phase, e.Err) }
func (e *PhaseError) Unwrap() error { return e.Err }

// Run performs the pivot described by opts. It returns the report in every
// case; the error is non-nil unless the move completed and was verified
// (or, with DryRun, the plan was computed).
func Run(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	opts.defaults(start)
	d := &driver{opts: opts, log: opts.Log, report: &Report{
		Namespace: opts.Namespace, Source: opts.Source.String(), Target: opts.Target.String(),
		DryRun: opts.DryRun, Resume: opts.Resume, CountsByKind: map[string]int{}, ResumeCommand: "",
	}}
	defer func() { d.report.TotalSeconds = time.Since(start).Seconds() }()
	if opts.Namespace == "" {
		return d.report, errors.New("the namespace to move is empty: pass -n")
	}
	var err error
	if d.src, err = newClient(opts.Source); err != nil {
		return d.report, fmt.Errorf("source cluster: %w", err)
	}
	if d.dst, err = newClient(opts.Target); err != nil {
		return d.report, fmt.Errorf("target cluster: %w", err)
	}
	if opts.DryRun {
		return d.report, d.dryRun(ctx)
	}
	return d.report, d.run(ctx)
}

func (d *driver) warn(msg string) {
	d.report.Warnings = append(d.report.Warnings, msg)
	d.log.Info("warning", "message", msg)
}

// phase runs f as a named phase, timing and recording it.
func (d *driver) phase(ctx context.Context, name string, f func(context.Context) (string, error)) error {
	fmt.Fprintf(d.opts.Out, "==> %s\n", name)
	if d.opts.OnPhase != nil {
		d.opts.OnPhase(name)
	}
	t := time.Now()
	detail, err := f(ctx)
	pr := PhaseResult{Name: name, Status: statusOK, Duration: time.Since(t), Detail: detail}
	pr.Seconds = pr.Duration.Seconds()
	if err != nil {
		pr.Status = statusFailed
		pr.Detail = err.Error()
	}
	d.report.Phases = append(d.report.Phases, pr)
	fmt.Fprintf(d.opts.Out, "    %s %s in %s", name, pr.Status, pr.Duration.Round(time.Millisecond))
	if pr.Detail != "" && err == nil {
		fmt.Fprintf(d.opts.Out, ": %s", pr.Detail)
	}
	fmt.Fprintln(d.opts.Out)
	if err != nil {
		return d.fail(ctx, name, err)
	}
	return nil
}

func (d *driver) skip(name, why string) {
	d.report.Phases = append(d.report.Phases, PhaseResult{Name: name, Status: statusSkipped, Detail: why})
	fmt.Fprintf(d.opts.Out, "==> %s skipped: %s\n", name, why)
}

// fail records the failure with what exists on each side and the resume command.
func (d *driver) fail(ctx context.Context, phase string, err error) error {
	r := d.report
	r.FailedPhase = phase
	if phase == PhaseMove {
		r.MoveStep = d.moveStep
	}
	r.Error = err.Error()
	// The run's context may be the reason for the failure (Ctrl-C): take
	// stock with a fresh one, bounded so that a signal still ends the
	// process within seconds even when a cluster does not answer.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var g errgroup.Group
	g.Go(func() error { r.SourceState = d.sideState(sctx, d.src, "source"); return nil })
	g.Go(func() error { r.TargetState = d.sideState(sctx, d.dst, "target"); return nil })
	_ = g.Wait()
	// A fresh run that failed before its first write changed nothing: it
	// is re-run, not resumed. A resume keeps pointing at the resume.
	if d.opts.ResumeCommand != "" && (d.opts.Resume || (phase != PhasePreflight && phase != PhaseChecks)) {
		r.ResumeCommand = d.opts.ResumeCommand
	}
	return &PhaseError{Phase: phase, Err: err}
}

// sideState summarises one side: planned objects present, paused Clusters,
// hosts by pause and status annotation, and the Ironic that runs there.
func (d *driver) sideState(ctx context.Context, c client.Client, side string) string {
	var parts []string
	if len(d.plan) > 0 {
		present, err := d.countPresent(ctx, c)
		if err != nil {
			return fmt.Sprintf("%s cluster could not be read: %v", side, err)
		}
		parts = append(parts, fmt.Sprintf("%d of %d planned objects present", present, len(d.plan)))
	} else {
		parts = append(parts, "no plan computed yet")
	}
	cls := &clusterv1.ClusterList{}
	if err := c.List(ctx, cls, client.InNamespace(d.opts.Namespace)); err != nil {
		return fmt.Sprintf("%s cluster could not be read: %v", side, err)
	}
	var paused, running []string
	for _, cl := range cls.Items {
		if ptr.Deref(cl.Spec.Paused, false) {
			paused = append(paused, cl.Name)
		} else {
			running = append(running, cl.Name)
		}
	}
	parts = append(parts, fmt.Sprintf("Clusters paused: [%s], unpaused: [%s]", strings.Join(paused, " "), strings.Join(running, " ")))
	hosts := &bmov1alpha1.BareMetalHostList{}
	if err := c.List(ctx, hosts, client.InNamespace(d.opts.Namespace)); err == nil {
		mine, other, unpaused, with := 0, 0, 0, 0
		for _, h := range hosts.Items {
			switch v, ok := h.Annotations[bmov1alpha1.PausedAnnotation]; {
			case !ok:
				unpaused++
			case v == hostsafety.PivotcheckPauseValue:
				mine++
			default:
				other++
			}
			if _, ok := h.Annotations[bmov1alpha1.StatusAnnotation]; ok {
				with++
			}
		}
		parts = append(parts, fmt.Sprintf("%d BareMetalHosts (%d paused by pivotcheck, %d paused by others, %d unpaused; %d with status annotation)", len(hosts.Items), mine, other, unpaused, with))
	}
	if s, err := snapshot(ctx, c); err == nil {
		parts = append(parts, "Ironic running: "+instances(ironic.Running(s, d.opts.IronicWorkloads)))
	}
	return strings.Join(parts, "; ")
}

// run sequences the phases. Everything that can still refuse runs before
// the first irreversible step (stopping the source Ironic, then clusterctl
// move): preflight and the checks write nothing; owner repair and the host
// hand-over only add ownerReferences, annotations and pauses, which a
// resume or an operator can take back; the backup is written before the
// Ironic goes, so a full disk stops the move while the bootstrap is intact.
// The host hand-over precedes the Ironic hand-over so that no source host
// is ever left without Ironic and without pivotcheck's pause.
func (d *driver) run(ctx context.Context) error {
	o := d.opts
	if o.Resume {
		d.skip(PhasePreflight, "resume: preflight ran before the first attempt and would now report the move in progress")
	} else if o.Preflight == nil {
		d.skip(PhasePreflight, "no preflight engine wired")
		d.warn("preflight did not run")
	} else if err := d.phase(ctx, PhasePreflight, d.preflight); err != nil {
		return err
	}
	if err := d.phase(ctx, PhaseChecks, d.checks); err != nil {
		return err
	}
	if o.ResumeCommand != "" {
		// Printed before the first write, so it is on screen even when the
		// process is killed without a report.
		fmt.Fprintf(o.Out, "    if this run is interrupted, resume with: %s\n", o.ResumeCommand)
	}
	if o.FixOwners {
		if err := d.phase(ctx, PhaseOwners, d.fixOwners); err != nil {
			return err
		}
	} else {
		d.skip(PhaseOwners, "--fix-owners not set")
	}
	type step struct {
		name string
		f    func(context.Context) (string, error)
	}
	steps := []step{{PhaseHosts, d.hostHandover}, {PhaseBackup, d.backup}, {PhaseIronic, d.ironicHandover}}
	if o.IronicURL != "" {
		// The source's Ironic is gone now: whatever answers on the VIP is the target's.
		steps = append(steps, step{PhaseIronicAPI, func(ctx context.Context) (string, error) { return d.checkIronicAPI(ctx, "before the move") }})
	}
	steps = append(steps, step{PhaseMove, d.move})
	for _, p := range steps {
		if err := d.phase(ctx, p.name, p.f); err != nil {
			return err
		}
	}
	d.report.Completed = true
	if err := d.phase(ctx, PhaseVerify, d.verify); err != nil {
		return err
	}
	d.report.Verified = true
	if o.DeleteSourceBMO {
		if err := d.phase(ctx, PhaseDeleteBMO, d.deleteSourceBMO); err != nil {
			return err
		}
	}
	return nil
}

// checks proves, without writing anything, that every later step that can
// refuse will pass: the backup folder is usable, the Ironic hand-over
// knows what it stops (or the operator said the Ironic is already
// stopped), the target BMO is not older than the source's, and every
// host's hand-over patch is accepted by the source API server in a
// server-side dry run, which runs its admission webhooks (BMO's, when
// installed, rejects for example a status annotation carrying a detach
// error).
func (d *driver) checks(ctx context.Context) (string, error) {
	if err := d.openBackupDir(); err != nil {
		return "", err
	}
	ironicNote, err := d.decideIronic(ctx)
	if err != nil {
		return "", err
	}
	actions, ttag, warnings, err := d.planHosts(ctx)
	if err != nil {
		return "", err
	}
	for _, w := range warnings {
		d.warn(w)
	}
	n, err := d.patchHosts(ctx, actions, true)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Ironic: %s; %d host hand-over patch(es) accepted in a server-side dry run (target BMO %s)", ironicNote, n, orUnknown(ttag)), nil
}

// openBackupDir resolves the backup folder and, when it exists, reads what
// an earlier attempt recorded there. A fresh move refuses a folder that is
// not empty (another move's backup must not be mixed in).
func (d *driver) openBackupDir() error {
	abs, err := filepath.Abs(d.opts.BackupDir)
	if err != nil {
		return fmt.Errorf("backup folder %s: %w", d.opts.BackupDir, err)
	}
	d.report.BackupDir = abs
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("backup folder %s: %w", abs, err)
	case !d.opts.Resume && len(entries) > 0:
		return fmt.Errorf("backup folder %s is not empty: choose a new --backup-dir (or add --resume to continue the move that wrote it)", abs)
	}
	raw, err := os.ReadFile(filepath.Join(abs, backupPlanFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("reading %s in %s: %w", backupPlanFile, abs, err)
	default:
		if d.previous, err = ParsePlan(raw); err != nil {
			return fmt.Errorf("%s in %s (the plan of the first attempt): %w", backupPlanFile, abs, err)
		}
	}
	if d.state, err = readState(abs); err != nil {
		return err
	}
	if d.state.Namespace != "" && d.state.Namespace != d.opts.Namespace {
		return fmt.Errorf("backup folder %s belongs to a move of namespace %s, not %s", abs, d.state.Namespace, d.opts.Namespace)
	}
	return nil
}

func (d *driver) preflight(ctx context.Context) (string, error) {
	blocking, warnings, err := d.opts.Preflight(ctx, d.opts.SkipChecks)
	for _, w := range warnings {
		d.warn("preflight: " + w)
	}
	if err != nil {
		return "", fmt.Errorf("preflight could not check the clusters: %w", err)
	}
	if len(blocking) > 0 {
		return "", fmt.Errorf("%d blocking finding(s), nothing was changed: %s (fix them, or skip a check explicitly with --skip-check ID)", len(blocking), strings.Join(blocking, "; "))
	}
	return fmt.Sprintf("no blocking findings, %d warning(s)", len(warnings)), nil
}

func (d *driver) fixOwners(ctx context.Context) (string, error) {
	hosts, secrets, clusters, tmpl, pools, err := listOwnerInputs(ctx, d.src, d.opts.Namespace)
	if err != nil {
		return "", err
	}
	fixes := PlanOwnerFixes(hosts, secrets, clusters, tmpl, pools)
	if err := applyOwnerFixes(ctx, d.src, d.opts.Namespace, fixes); err != nil {
		return "", err
	}
	var s []string
	for _, f := range fixes {
		s = append(s, f.String())
	}
	if d.opts.RecheckOwners != nil {
		// Only owner chains the repair understands are fixed; anything else
		// clusterctl would still leave behind must stop the move here.
		blocking, _, err := d.opts.RecheckOwners(ctx, nil)
		if err != nil {
			return "", fmt.Errorf("re-checking owner chains after the repair: %w", err)
		}
		if len(blocking) > 0 {
			return "", fmt.Errorf("%d object(s) repaired%s, but %d would still be left behind, nothing was moved: %s", len(fixes), listSuffix(s), len(blocking), strings.Join(blocking, "; "))
		}
	}
	return fmt.Sprintf("%d object(s) repaired%s", len(fixes), listSuffix(s)), nil
}

func listSuffix(s []string) string {
	if len(s) == 0 {
		return ""
	}
	if len(s) > 5 {
		s = append(s[:5:5], fmt.Sprintf("and %d more", len(s)-5))
	}
	return ": " + strings.Join(s, "; ")
}

// planHosts decides each host's hand-over patch from the live source.
func (d *driver) planHosts(ctx context.Context) (actions []HostAction, ttag string, warnings []string, err error) {
	_, targetBMO, ttag, err := bmoDeployment(ctx, d.dst)
	if err != nil {
		return nil, "", nil, fmt.Errorf("target: %w", err)
	}
	_, sourceBMO, stag, err := bmoDeployment(ctx, d.src)
	if err != nil {
		return nil, "", nil, fmt.Errorf("source: %w", err)
	}
	if targetBMO != nil && sourceBMO != nil && targetBMO.LessThan(sourceBMO) {
		return nil, "", nil, fmt.Errorf("target BMO %s is older than source BMO %s: its webhook may reject the status annotations (the target BMO must be at least the source's)", ttag, stag)
	}
	hosts := &bmov1alpha1.BareMetalHostList{}
	if err := d.src.List(ctx, hosts, client.InNamespace(d.opts.Namespace)); err != nil {
		return nil, "", nil, fmt.Errorf("listing BareMetalHosts in %s: %w", d.opts.Namespace, err)
	}
	actions, warnings, err = PlanHostHandover(hosts.Items, targetBMO)
	if err != nil {
		return nil, "", nil, err
	}
	return actions, ttag, warnings, nil
}

// patchHosts sends every planned hand-over patch (8 in flight), as a
// server-side dry run when dryRun is set. A dry run reports every host
// refused, not only the first; real writes are retried (retryWrite) and
// the first failure is returned.
func (d *driver) patchHosts(ctx context.Context, actions []HostAction, dryRun bool) (int, error) {
	var todo []HostAction
	for _, a := range actions {
		if a.Patch != nil {
			todo = append(todo, a)
		}
	}
	var mu sync.Mutex
	var refused []string
	err := parallel(ctx, len(todo), func(ctx context.Context, i int) error {
		a := todo[i]
		raw, err := json.Marshal(a.Patch)
		if err != nil {
			return fmt.Errorf("encoding the hand-over patch of BareMetalHost %s/%s: %w", d.opts.Namespace, a.Name, err)
		}
		h := &bmov1alpha1.BareMetalHost{}
		h.Namespace, h.Name = d.opts.Namespace, a.Name
		patch := client.RawPatch("application/merge-patch+json", raw)
		if dryRun {
			if err := retryWrite(ctx, func() error { return d.src.Patch(ctx, h, patch, client.DryRunAll) }); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				mu.Lock()
				refused = append(refused, fmt.Sprintf("BareMetalHost %s/%s: %v", d.opts.Namespace, a.Name, err))
				mu.Unlock()
			}
			return nil
		}
		if err := retryWrite(ctx, func() error { return d.src.Patch(ctx, h, patch) }); err != nil {
			return fmt.Errorf("writing the status annotation and pause on BareMetalHost %s/%s: %w", d.opts.Namespace, a.Name, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if len(refused) > 0 {
		sort.Strings(refused)
		return 0, fmt.Errorf("the source API server refused %d host hand-over patch(es) in a server-side dry run, so nothing was changed%s", len(refused), listSuffix(refused))
	}
	return len(todo), nil
}

// hostHandover writes, on every host, the patch the checks proved
// acceptable (re-planned from the live hosts: a host handed over by an
// earlier attempt is skipped).
func (d *driver) hostHandover(ctx context.Context) (string, error) {
	actions, ttag, _, err := d.planHosts(ctx)
	if err != nil {
		return "", err
	}
	patched, err := d.patchHosts(ctx, actions, false)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d host(s) annotated and paused, %d already handed over or left alone (target BMO %s)", patched, len(actions)-patched, orUnknown(ttag)), nil
}

func orUnknown(s string) string {
	if s == "" {
		return "version unknown"
	}
	return s
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
		if err := d.unpauseSourceForResume(ctx); err != nil {
			return "", err
		}
	}
	objDir := filepath.Join(abs, BackupObjectsDir)
	if err := os.MkdirAll(objDir, 0o700); err != nil {
		return "", fmt.Errorf("creating backup folder %s: %w", objDir, err)
	}
	plan, err := d.qualifiedPlan(ctx)
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
	return fmt.Sprintf("%d objects saved to %s (files 0600; holds credentials)", len(plan), abs), nil
}

// qualifiedPlan is clusterctl's dry-run plan with each object's API group,
// read from the objects of movable kinds in the source namespace.
func (d *driver) qualifiedPlan(ctx context.Context) ([]mover.Object, error) {
	raw, err := mover.Plan(ctx, d.opts.Source, d.opts.Namespace, d.log)
	if err != nil {
		return nil, fmt.Errorf("computing clusterctl's plan: %w", err)
	}
	kinds, err := movableKinds(ctx, d.src)
	if err != nil {
		return nil, err
	}
	only := map[string]bool{}
	for _, o := range raw {
		only[o.Kind] = true
	}
	inv, err := inventory(ctx, d.src, d.opts.Namespace, kinds, only)
	if err != nil {
		return nil, err
	}
	existing := make([]mover.Object, 0, len(inv))
	for o := range inv {
		existing = append(existing, o)
	}
	return mover.Qualify(raw, existing)
}

func jsonIndent(v any) ([]byte, error) {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(raw, '\n'), nil
}

// BackupObjectsDir is the sub-folder of a backup holding clusterctl's
// files: clusterctl --from-directory reads every file of its folder, so
// pivotcheck's own files (plan, README) live one level up.
const BackupObjectsDir = "objects"

func (d *driver) setPlan(plan []mover.Object) {
	d.plan = plan
	d.report.Objects = plan
	d.report.CountsByKind = map[string]int{}
	for _, o := range plan {
		d.report.CountsByKind[o.GroupKind()]++
	}
}

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

func (d *driver) move(ctx context.Context) (string, error) {
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

func (d *driver) deleteSourceBMO(ctx context.Context) (string, error) {
	dep, _, _, err := bmoDeployment(ctx, d.src)
	if err != nil {
		return "", fmt.Errorf("source: %w", err)
	}
	if dep == nil {
		return "no BMO Deployment in the source", nil
	}
	err = retryWrite(ctx, func() error {
		if err := d.src.Delete(ctx, dep, client.PropagationPolicy("Background")); !apierrors.IsNotFound(err) {
			return err
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("deleting Deployment %s/%s in the source: %w", dep.Namespace, dep.Name, err)
	}
	return "deleted Deployment " + dep.Namespace + "/" + dep.Name, nil
}

func sortedKeys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// newClient builds a client whose client-side rate limit does not dominate
// the run: client-go's default (5 requests/s) turns 100 host patches into 20 s.
// The API server's own priority and fairness still applies.
func newClient(t kube.Target) (client.Client, error) {
	cfg, err := t.RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 100, 200
	c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", t, err)
	}
	return c, nil
}

// parallel runs f for each index with at most 8 calls in flight, returning
// the first error.
func parallel(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := 0; i < n; i++ {
		g.Go(func() error { return f(gctx, i) })
	}
	return g.Wait()
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
