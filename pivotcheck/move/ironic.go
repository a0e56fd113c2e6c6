package move

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
)

var irsoGVK = schema.GroupVersionKind{Group: ironic.IrSOGroup, Version: "v1alpha1", Kind: "IronicList"}

func isNoKind(err error) bool {
	var nm *meta.NoKindMatchError
	return errors.As(err, &nm) || meta.IsNoMatchError(err) || apierrors.IsNotFound(err)
}

// snapshot lists what ironic.Running needs from one cluster.
func snapshot(ctx context.Context, c client.Client) (ironic.Snapshot, error) {
	var s ironic.Snapshot
	deps := &appsv1.DeploymentList{}
	if err := c.List(ctx, deps); err != nil {
		return s, fmt.Errorf("listing Deployments: %w", err)
	}
	dss := &appsv1.DaemonSetList{}
	if err := c.List(ctx, dss); err != nil {
		return s, fmt.Errorf("listing DaemonSets: %w", err)
	}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods); err != nil {
		return s, fmt.Errorf("listing Pods: %w", err)
	}
	irso := &unstructured.UnstructuredList{}
	irso.SetGroupVersionKind(irsoGVK)
	if err := c.List(ctx, irso); err != nil && !isNoKind(err) {
		return s, fmt.Errorf("listing Ironic resources: %w", err)
	}
	s.Deployments, s.DaemonSets, s.Pods, s.IrSO = deps.Items, dss.Items, pods.Items, irso.Items
	return s, nil
}

// ironicHandover stops the source Ironic, waits until its pods are gone, then
// waits (bounded) for the target's Ironic. Two Ironic/dnsmasq/keepalived
// instances on one provisioning network fight over the VIP and DHCP, so the
// order matters (pivot-facts.md section 5).
func (d *driver) ironicHandover(ctx context.Context) (string, error) {
	o := d.opts
	running := func(c client.Client) ([]ironic.Instance, error) {
		s, err := snapshot(ctx, c)
		if err != nil {
			return nil, err
		}
		return ironic.Running(s, o.IronicWorkloads), nil
	}
	src, err := running(d.src)
	if err != nil {
		return "", fmt.Errorf("source: %w", err)
	}
	var did []string
	switch o.IronicHandover {
	case HandoverExternal:
		if !o.ConfirmExternalIronicStopped {
			return "", fmt.Errorf("--ironic-handover=external needs --confirm-external-ironic-stopped: confirm that the Ironic running outside the source cluster is stopped")
		}
		if len(src) > 0 {
			return "", fmt.Errorf("--ironic-handover=external but Ironic still runs in the source cluster: %s", instances(src))
		}
		did = append(did, "external Ironic confirmed stopped")
	case HandoverDelete, HandoverScaleToZero:
		for _, in := range src {
			if err := d.stopIronic(ctx, in, o.IronicHandover); err != nil {
				return "", err
			}
			did = append(did, fmt.Sprintf("%s %s/%s stopped", in.Kind, in.Namespace, in.Name))
		}
	default:
		return "", fmt.Errorf("unknown --ironic-handover %q: use delete, scale-to-zero or external", o.IronicHandover)
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
	tgt, err := running(d.dst)
	if err != nil {
		return "", fmt.Errorf("target: %w", err)
	}
	if len(tgt) == 0 {
		d.warn("no Ironic workload found in the target cluster: its BMO cannot adopt the hosts until an Ironic runs there")
		return strings.Join(append(did, "no target Ironic found"), "; "), nil
	}
	var notReady []string
	err = d.poll(ctx, o.TargetIronicTimeout, func() (bool, error) {
		s, err := snapshot(ctx, d.dst)
		if err != nil {
			return false, err
		}
		notReady = unavailable(s, ironic.Running(s, o.IronicWorkloads))
		return len(notReady) == 0, nil
	})
	if err != nil {
		return "", fmt.Errorf("waiting for the target Ironic to be available (not yet: %s): %w", strings.Join(notReady, ", "), err)
	}
	return strings.Join(append(did, "target Ironic available"), "; "), nil
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

// unavailable lists the target Ironic workloads that are not available yet.
func unavailable(s ironic.Snapshot, in []ironic.Instance) []string {
	var out []string
	for _, i := range in {
		switch i.Kind {
		case "Deployment":
			for _, d := range s.Deployments {
				if d.Namespace == i.Namespace && d.Name == i.Name && d.Status.AvailableReplicas < 1 {
					out = append(out, "Deployment "+i.Namespace+"/"+i.Name)
				}
			}
		case "DaemonSet":
			for _, d := range s.DaemonSets {
				if d.Namespace == i.Namespace && d.Name == i.Name && d.Status.NumberAvailable < 1 {
					out = append(out, "DaemonSet "+i.Namespace+"/"+i.Name)
				}
			}
		}
	}
	return out
}

func (d *driver) stopIronic(ctx context.Context, in ironic.Instance, mode string) error {
	var obj client.Object
	switch in.Kind {
	case "Deployment":
		dep := &appsv1.Deployment{}
		dep.Namespace, dep.Name = in.Namespace, in.Name
		if mode == HandoverScaleToZero {
			if err := d.src.Patch(ctx, dep, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"replicas":0}}`))); err != nil {
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
		u.SetGroupVersionKind(irsoGVK.GroupVersion().WithKind("Ironic"))
		u.SetNamespace(in.Namespace)
		u.SetName(in.Name)
		obj = u
	default:
		return fmt.Errorf("do not know how to stop Ironic %s %s/%s", in.Kind, in.Namespace, in.Name)
	}
	// Background propagation: the garbage collector removes the pods, and
	// the wait below watches them go.
	if err := d.src.Delete(ctx, obj, client.PropagationPolicy("Background")); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Ironic %s %s/%s: %w", in.Kind, in.Namespace, in.Name, err)
	}
	return nil
}

// poll calls f every PollInterval until it returns true, it errors, ctx ends
// or timeout passes.
func (d *driver) poll(ctx context.Context, timeout time.Duration, f func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := f()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d.opts.PollInterval):
		}
	}
}

func ironicRunning(s ironic.Snapshot, o Options) []ironic.Instance {
	return ironic.Running(s, o.IronicWorkloads)
}
