package move

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	irsov1alpha1 "github.com/metal3-io/ironic-standalone-operator/api/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/kube"
)

// IronicInput is what the Ironic hand-over decision looks at.
type IronicInput struct {
	Mode            string // delete, scale-to-zero, external, already-removed
	ConfirmExternal bool
	// Running is every Ironic still running in the source cluster.
	Running []ironic.Instance
	// Recorded lists the instances an earlier attempt of this move recorded
	// stopping (the backup folder's state).
	Recorded []string
	// Endpoint is where the source BMO sends its Ironic calls, as a phrase
	// for messages ("" when unknown).
	Endpoint string
	// Probe is the answer of that endpoint (nil when not probed).
	Probe *ironic.ProbeResult
}

// DecideIronicHandover decides, before anything is written, which source
// Ironic instances the hand-over stops; note says what it relies on. No
// Ironic in the source cluster is either one already stopped or one
// running outside the cluster (local containers on a kind host), and the
// API cannot tell which, so the default hand-over refuses until the
// operator says which it is, unless this move's own record says pivotcheck
// stopped it in an earlier attempt.
func DecideIronicHandover(in IronicInput) (stop []ironic.Instance, note string, err error) {
	where := "its BMO's Ironic endpoint could not be read"
	if in.Endpoint != "" {
		where = "its BMO sends Ironic calls to " + in.Endpoint
	}
	if err := (Options{IronicHandover: in.Mode, ConfirmExternalIronicStopped: in.ConfirmExternal}).Validate(); err != nil {
		return nil, "", err
	}
	answered := in.Probe != nil && in.Probe.Answered()
	if in.Mode == HandoverExternal || in.Mode == HandoverAlreadyRemoved {
		if len(in.Running) > 0 {
			return nil, "", fmt.Errorf("--ironic-handover=%s but Ironic still runs in the source cluster: %s; use --ironic-handover=delete", in.Mode, instances(in.Running))
		}
		if answered {
			return nil, "", fmt.Errorf("--ironic-handover=%s says the source Ironic is stopped, but %s: stop it first", in.Mode, in.Probe)
		}
		note = "external Ironic confirmed stopped by the operator"
		if in.Mode == HandoverAlreadyRemoved {
			note = "source Ironic stated already removed by the operator"
		}
		if in.Probe != nil {
			note += "; " + in.Probe.String()
		}
		return nil, note, nil
	}
	// delete or scale-to-zero: what pivotcheck stops itself.
	switch {
	case len(in.Running) > 0:
		return in.Running, "", nil
	case len(in.Recorded) > 0:
		return nil, fmt.Sprintf("source Ironic already stopped by this move's first attempt (%s)", strings.Join(in.Recorded, ", ")), nil
	case answered:
		return nil, "", fmt.Errorf("no Ironic runs in the source cluster, yet %s and %s, so an Ironic runs outside the cluster and nothing was changed: stop it, then re-run with --ironic-handover=external --confirm-external-ironic-stopped", where, in.Probe)
	default:
		return nil, "", fmt.Errorf("no Ironic runs in the source cluster and %s: pivotcheck cannot tell an Ironic already stopped from one running outside the cluster (a kind bootstrap often runs it as local containers), so nothing was changed; stop it and say so with --ironic-handover=external --confirm-external-ironic-stopped, or with --ironic-handover=already-removed if it was removed before", where)
	}
}

// sourceEndpoint is where the source BMO sends its Ironic calls and
// whether the target's BMO uses the same endpoint (then an answer there may
// come from the target's Ironic and proves nothing about the source's).
func (d *driver) sourceEndpoint(ctx context.Context) (ep string, sameAsTarget bool, err error) {
	ep, err = bmoEndpoint(ctx, d.src)
	if err != nil || ep == "" {
		return ep, false, err
	}
	tep, err := bmoEndpoint(ctx, d.dst)
	if err != nil {
		return ep, false, err
	}
	return ep, tep == ep, nil
}

func bmoEndpoint(ctx context.Context, c client.Client) (string, error) {
	dep, _, _, err := bmoDeployment(ctx, c)
	if err != nil || dep == nil {
		return "", err
	}
	cms := &corev1.ConfigMapList{}
	if err := c.List(ctx, cms, client.InNamespace(dep.Namespace)); err != nil {
		return "", fmt.Errorf("listing ConfigMaps in %s for BMO's Ironic endpoint: %w", dep.Namespace, err)
	}
	ep, _ := bmo.IronicEndpoint(dep, cms.Items)
	return ep, nil
}

// decideIronic runs DecideIronicHandover on the live source (read-only).
func (d *driver) decideIronic(ctx context.Context) (string, error) {
	s, err := ironic.List(ctx, d.src)
	if err != nil {
		return "", fmt.Errorf("source: %w", err)
	}
	if err := ironic.CheckPatterns(s, d.opts.IronicWorkloads); err != nil {
		return "", err
	}
	in := IronicInput{Mode: d.opts.IronicHandover, ConfirmExternal: d.opts.ConfirmExternalIronicStopped,
		Running: ironic.Running(s, d.opts.IronicWorkloads), Recorded: d.state.SourceIronicStopped}
	if len(in.Running) == 0 {
		ep, same, err := d.sourceEndpoint(ctx)
		if err != nil {
			return "", err
		}
		in.Endpoint = ep
		if _, isURL := ironic.NodesURL(ep); d.opts.ProbeSourceIronic && isURL {
			if same {
				d.warn(fmt.Sprintf("the source Ironic endpoint %s was not probed: the target's BMO uses the same one, so an answer may come from the target's Ironic", ep))
			} else {
				p := ironic.Probe(ctx, ep, d.opts.IronicProbeTimeout)
				in.Probe = &p
			}
		}
	}
	_, note, err := DecideIronicHandover(in)
	if err != nil {
		return "", err
	}
	if note == "" {
		note = "will stop " + instances(in.Running)
	}
	return note, nil
}

// ironicHandover stops the source Ironic, waits until its pods are gone,
// then waits (bounded) for the target's Ironic. Two Ironic/dnsmasq/
// keepalived instances on one provisioning network fight over the VIP and
// DHCP, so the order matters. It runs after every host was handed over and
// the backup written: nothing after it can refuse for a reason a check
// could have found first.
func (d *driver) ironicHandover(ctx context.Context) (string, error) {
	o := d.opts
	running := func(c client.Client) ([]ironic.Instance, error) {
		s, err := ironic.List(ctx, c)
		if err != nil {
			return nil, err
		}
		return ironic.Running(s, o.IronicWorkloads), nil
	}
	s, err := ironic.List(ctx, d.src)
	if err != nil {
		return "", fmt.Errorf("source: %w", err)
	}
	// Checked again on what is about to be stopped: a workload created
	// since the checks may match a pattern too.
	if err := ironic.CheckPatterns(s, o.IronicWorkloads); err != nil {
		return "", err
	}
	src := ironic.Running(s, o.IronicWorkloads)
	in := IronicInput{Mode: o.IronicHandover, ConfirmExternal: o.ConfirmExternalIronicStopped, Running: src, Recorded: d.state.SourceIronicStopped}
	if len(src) == 0 && len(in.Recorded) == 0 && (o.IronicHandover == HandoverDelete || o.IronicHandover == HandoverScaleToZero) {
		// The checks saw an Ironic that is gone now: someone else stopped it.
		in.Recorded = []string{"stopped by someone else after the checks"}
	}
	stop, note, err := DecideIronicHandover(in)
	if err != nil {
		return "", err
	}
	var did []string
	if note != "" {
		did = append(did, note)
	}
	if len(stop) > 0 {
		// Record first: a kill right after a delete must not leave a
		// resume that cannot tell pivotcheck's stop from an external Ironic,
		// nor a rollback without the manifest to bring it back.
		for _, i := range stop {
			if s := fmt.Sprintf("%s %s/%s", i.Kind, i.Namespace, i.Name); !slices.Contains(d.state.SourceIronicStopped, s) {
				d.state.SourceIronicStopped = append(d.state.SourceIronicStopped, s)
			}
		}
		if err := d.saveIronic(ctx, stop, o.IronicHandover); err != nil {
			return "", err
		}
		if err := d.writeState(); err != nil {
			return "", err
		}
	}
	for _, i := range stop {
		if err := d.stopIronic(ctx, i, o.IronicHandover); err != nil {
			return "", err
		}
		did = append(did, fmt.Sprintf("%s %s/%s stopped", i.Kind, i.Namespace, i.Name))
	}
	err = d.poll(ctx, o.IronicGoneTimeout, func() (bool, error) {
		left, err := running(d.src)
		if err != nil {
			return false, err
		}
		src = left
		return len(left) == 0, nil
	})
	if err != nil {
		return "", fmt.Errorf("waiting for the source Ironic to stop (still: %s): %w", instances(src), err)
	}
	var notReady []string
	found := true
	err = d.poll(ctx, o.TargetIronicTimeout, func() (bool, error) {
		s, err := ironic.List(ctx, d.dst)
		if err != nil {
			return false, fmt.Errorf("target: %w", err)
		}
		tgt := ironic.Running(s, o.IronicWorkloads)
		if len(tgt) == 0 {
			found = false
			return true, nil
		}
		notReady = unavailable(s, tgt)
		return len(notReady) == 0, nil
	})
	if err != nil {
		return "", fmt.Errorf("waiting for the target Ironic to be available (not yet: %s): %w", strings.Join(notReady, ", "), err)
	}
	if !found {
		d.warn("no Ironic workload found in the target cluster: its BMO cannot adopt the hosts until an Ironic runs there")
		return strings.Join(append(did, "no target Ironic found"), "; "), nil
	}
	return strings.Join(append(did, "target Ironic available"), "; "), nil
}

// writeState records d.state in the backup folder (atomically).
func (d *driver) writeState() error {
	d.state.Namespace = d.opts.Namespace
	// The host hand-over records before the backup phase made the folder.
	if err := os.MkdirAll(d.report.BackupDir, 0o700); err != nil {
		return fmt.Errorf("creating backup folder %s: %w", d.report.BackupDir, err)
	}
	raw, err := jsonIndent(d.state)
	if err != nil {
		return fmt.Errorf("encoding the move's state: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(d.report.BackupDir, backupStateFile), raw); err != nil {
		return fmt.Errorf("recording the move's state in %s: %w", d.report.BackupDir, err)
	}
	return nil
}

func instances(in []ironic.Instance) string {
	var s []string
	for _, i := range in {
		s = append(s, fmt.Sprintf("%s %s/%s (%s)", i.Kind, i.Namespace, i.Name, i.Why))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// unavailable lists the target Ironic instances that are not available
// yet: Deployments and DaemonSets by their status, bare pods by their Ready
// condition, and IrSO Ironic resources by the operator's own Ready
// condition for their current generation (a just-created Ironic has none).
func unavailable(s ironic.Objects, in []ironic.Instance) []string {
	var out []string
	for _, i := range in {
		name := i.Kind + " " + i.Namespace + "/" + i.Name
		switch i.Kind {
		case "Deployment":
			for _, d := range s.Deployments {
				if d.Namespace == i.Namespace && d.Name == i.Name && d.Status.AvailableReplicas < 1 {
					out = append(out, name)
				}
			}
		case "DaemonSet":
			for _, d := range s.DaemonSets {
				if d.Namespace == i.Namespace && d.Name == i.Name && d.Status.NumberAvailable < 1 {
					out = append(out, name)
				}
			}
		case "Pod":
			for _, p := range s.Pods {
				if p.Namespace == i.Namespace && p.Name == i.Name && !kube.PodReady(&p) {
					out = append(out, name)
				}
			}
		case "Ironic":
			for _, u := range s.IrSO {
				if u.GetNamespace() == i.Namespace && u.GetName() == i.Name {
					if why := irsoNotReady(&u); why != "" {
						out = append(out, name+" ("+why+")")
					}
				}
			}
		}
	}
	return out
}

// irsoNotReady reads an IrSO Ironic through the operator's API types and
// says why it is not ready ("" when it is).
func irsoNotReady(u *unstructured.Unstructured) string {
	ir := &irsov1alpha1.Ironic{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, ir); err != nil {
		return "status unreadable: " + err.Error()
	}
	c := meta.FindStatusCondition(ir.Status.Conditions, string(irsov1alpha1.IronicStatusReady))
	switch {
	case c == nil:
		return "no Ready condition yet"
	case c.ObservedGeneration != 0 && c.ObservedGeneration < ir.Generation:
		return fmt.Sprintf("Ready reported for generation %d, the resource is at %d", c.ObservedGeneration, ir.Generation)
	case c.Status != metav1.ConditionTrue:
		return fmt.Sprintf("Ready is %s: %s", c.Status, c.Reason)
	}
	return ""
}

func (d *driver) stopIronic(ctx context.Context, in ironic.Instance, mode string) error {
	var obj client.Object
	switch in.Kind {
	case "Deployment":
		dep := &appsv1.Deployment{}
		dep.Namespace, dep.Name = in.Namespace, in.Name
		if mode == HandoverScaleToZero {
			err := retryWrite(ctx, func() error {
				return d.src.Patch(ctx, dep, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"replicas":0}}`)))
			})
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("scaling Deployment %s/%s to zero: %w", in.Namespace, in.Name, err)
			}
			return nil
		}
		obj = dep
	case "DaemonSet":
		ds := &appsv1.DaemonSet{}
		ds.Namespace, ds.Name = in.Namespace, in.Name
		obj = ds
	case "Pod":
		p := &corev1.Pod{}
		p.Namespace, p.Name = in.Namespace, in.Name
		obj = p
	case "Ironic":
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(ironic.IrSOListGVK.GroupVersion().WithKind("Ironic"))
		u.SetNamespace(in.Namespace)
		u.SetName(in.Name)
		obj = u
	default:
		return fmt.Errorf("do not know how to stop Ironic %s %s/%s", in.Kind, in.Namespace, in.Name)
	}
	// Background propagation: the garbage collector removes the pods, and
	// the wait below watches them go.
	err := retryWrite(ctx, func() error {
		err := d.src.Delete(ctx, obj, client.PropagationPolicy("Background"))
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("deleting Ironic %s %s/%s: %w", in.Kind, in.Namespace, in.Name, err)
	}
	return nil
}

// stopWaiting marks an error a wait's condition found that no later read
// can change (a host BMO is re-provisioning): the wait fails at once.
type stopWaiting struct{ error }

func (e stopWaiting) Unwrap() error { return e.error }

// poll calls f every PollInterval until it returns true, ctx ends or
// timeout passes. Any other error of f is a failed read: it is logged at
// V(1) and tried again at the next interval until the timeout, so a wait of
// minutes does not fail on one dropped connection or an API server
// restart; the timeout message names the last one. An error wrapped in
// stopWaiting fails the wait at once.
func (d *driver) poll(ctx context.Context, timeout time.Duration, f func() (bool, error)) error {
	var last error
	failed := 0
	err := wait.PollUntilContextTimeout(ctx, d.opts.PollInterval, timeout, true, func(context.Context) (bool, error) {
		ok, err := f()
		var stop stopWaiting
		switch {
		case err == nil:
			return ok, nil
		case errors.As(err, &stop):
			return false, stop.error
		case ctx.Err() != nil:
			return false, ctx.Err()
		}
		failed++
		last = err
		d.log.V(1).Info("a read failed while waiting; trying again until the wait's deadline", "error", err.Error(), "failures", failed)
		return false, nil
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case !wait.Interrupted(err):
		return err
	case last != nil:
		return fmt.Errorf("timed out after %s (%d read(s) failed, the last: %w)", timeout, failed, last)
	}
	return fmt.Errorf("timed out after %s", timeout)
}

func ironicRunning(s ironic.Objects, o Options) []ironic.Instance {
	return ironic.Running(s, o.IronicWorkloads)
}

// backupIronicDir is the sub-folder of the backup holding the manifests of
// the Ironic workloads the hand-over stopped (outside objects/: clusterctl
// must not restore them).
const backupIronicDir = "ironic"

// instanceObject is an empty object of an Ironic instance's kind.
func instanceObject(kind string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	switch kind {
	case "Deployment", "DaemonSet":
		u.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind(kind))
	case "Pod":
		u.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
	case "Ironic":
		u.SetGroupVersionKind(ironic.IrSOListGVK.GroupVersion().WithKind("Ironic"))
	default:
		return nil, fmt.Errorf("do not know the API of Ironic %s", kind)
	}
	return u, nil
}

// saveIronic saves, into the backup folder, the manifest of every instance
// the hand-over is about to stop and records what it will do to it, before
// the first of them is touched. An instance an earlier attempt recorded
// keeps its first record: its manifest now may already say replicas 0.
func (d *driver) saveIronic(ctx context.Context, stop []ironic.Instance, mode string) error {
	dir := filepath.Join(d.report.BackupDir, backupIronicDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	for _, i := range stop {
		if slices.ContainsFunc(d.state.IronicWorkloads, func(r IronicRecord) bool {
			return r.Kind == i.Kind && r.Namespace == i.Namespace && r.Name == i.Name
		}) {
			continue
		}
		u, err := instanceObject(i.Kind)
		if err != nil {
			return err
		}
		if err := d.src.Get(ctx, client.ObjectKey{Namespace: i.Namespace, Name: i.Name}, u); err != nil {
			if apierrors.IsNotFound(err) {
				continue // gone already: nothing to stop, nothing to bring back
			}
			return fmt.Errorf("reading Ironic %s %s/%s to save it: %w", i.Kind, i.Namespace, i.Name, err)
		}
		rec := IronicRecord{Kind: i.Kind, Namespace: i.Namespace, Name: i.Name, Action: IronicDeleted,
			Manifest: filepath.Join(backupIronicDir, i.Kind+"_"+i.Namespace+"_"+i.Name+".yaml")}
		if i.Kind == "Deployment" && mode == HandoverScaleToZero {
			n, found, err := unstructured.NestedInt64(u.Object, "spec", "replicas")
			if err != nil {
				return fmt.Errorf("reading spec.replicas of Deployment %s/%s: %w", i.Namespace, i.Name, err)
			}
			if !found {
				n = 1
			}
			rec.Action, rec.Replicas = IronicScaled, ptr.To(int32(n))
		}
		raw, err := CleanManifest(u).MarshalJSON()
		if err != nil {
			return fmt.Errorf("encoding Ironic %s %s/%s: %w", i.Kind, i.Namespace, i.Name, err)
		}
		if err := writeFileAtomic(filepath.Join(d.report.BackupDir, rec.Manifest), raw); err != nil {
			return fmt.Errorf("saving Ironic %s %s/%s in the backup: %w", i.Kind, i.Namespace, i.Name, err)
		}
		d.state.IronicWorkloads = append(d.state.IronicWorkloads, rec)
	}
	return nil
}

// CleanManifest is a copy of u as it can be created again (pure): no
// status, no server-set metadata (uid, resourceVersion, generation,
// creation and deletion times, managedFields).
func CleanManifest(u *unstructured.Unstructured) *unstructured.Unstructured {
	c := u.DeepCopy()
	delete(c.Object, "status")
	for _, f := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
		"deletionGracePeriodSeconds", "managedFields", "selfLink"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	return c
}
