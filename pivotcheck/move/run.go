package move

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/movelock"
)

// Run performs the pivot described by opts. It returns the report in every
// case; the error is non-nil unless the move completed and was verified
// (or, with DryRun, the plan was computed).
func Run(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	opts.defaults(start)
	d := &driver{opts: opts, log: opts.Log, started: start, report: &Report{
		Namespace: opts.Namespace, Source: opts.Source.String(), Target: opts.Target.String(),
		DryRun: opts.DryRun, Resume: opts.Resume, CountsByKind: map[string]int{}, ResumeCommand: "",
	}}
	defer func() { d.report.TotalSeconds = time.Since(start).Seconds() }()
	if err := opts.Validate(); err != nil {
		return d.report, err
	}
	if opts.Namespace == "" {
		return d.report, errors.New("the namespace to move is empty: pass -n")
	}
	var srcCfg, dstCfg *rest.Config
	var err error
	if d.src, srcCfg, err = opts.Source.Client(clientRate); err != nil {
		return d.report, fmt.Errorf("source cluster: %w", err)
	}
	if d.dst, dstCfg, err = opts.Target.Client(clientRate); err != nil {
		return d.report, fmt.Errorf("target cluster: %w", err)
	}
	d.srcHost, d.dstHost = srcCfg.Host, dstCfg.Host
	d.holder = movelock.NewHolder()
	if opts.DryRun {
		if err := d.readIdentities(ctx); err != nil {
			return d.report, err
		}
		return d.report, d.dryRun(ctx)
	}
	return d.report, d.run(ctx)
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
	// Released last, after the failure report took stock, success or not.
	defer d.release(ctx)
	if err := d.phase(ctx, PhaseLock, d.lockPhase); err != nil {
		return err
	}
	// Another run took the Lease over (it had expired: this process was
	// stopped for longer than its duration): stop before the next write.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-d.lock.Lost():
			cancel(errors.New(d.lock.LostReason()))
		case <-ctx.Done():
		}
	}()
	pctx := ctx
	if o.Resume {
		// The preflight runs again: what the interrupted attempt explains
		// (Clusters clusterctl paused, objects it created) is a warning;
		// anything else, e.g. a host that started provisioning since, blocks.
		if err := d.loadPrevious(); err != nil {
			return d.fail(ctx, PhaseLock, err)
		}
		pctx = context.WithValue(ctx, interruptedKey{}, &Interrupted{State: d.state, Plan: d.previous})
	}
	pctx = withPlanSink(pctx, &d.preflightPlan)
	if o.Preflight == nil {
		d.skip(PhasePreflight, "no preflight engine wired")
		d.warn("preflight did not run")
	} else if err := d.phase(pctx, PhasePreflight, d.preflight); err != nil {
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

// phase runs f as a named phase, timing and recording it.
func (d *driver) phase(ctx context.Context, name string, f func(context.Context) (string, error)) error {
	fmt.Fprintf(d.opts.Out, "==> %s\n", name)
	defer d.persist() // the last state on disk, even if the process dies next
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
	// A run stopped because its Lease was taken over says so.
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) && !errors.Is(c, context.DeadlineExceeded) {
		err = fmt.Errorf("%w (%w)", err, c)
	}
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
	// is re-run, not resumed. A resume keeps pointing at the resume, unless
	// it was refused as no resume at all (wrong or missing state, one
	// cluster); one refused because another run holds the lock can be
	// resumed later.
	var held *movelock.HeldError
	var busy *movelock.FolderBusyError
	lockBusy := errors.As(err, &held) || errors.As(err, &busy)
	refused := phase == PhaseLock && !lockBusy
	if d.opts.ResumeCommand != "" && !refused && (d.opts.Resume || (phase != PhaseLock && phase != PhasePreflight && phase != PhaseChecks)) {
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
	if s, err := ironic.List(ctx, c); err == nil {
		parts = append(parts, "Ironic running: "+instances(ironic.Running(s, d.opts.IronicWorkloads)))
	}
	return strings.Join(parts, "; ")
}
