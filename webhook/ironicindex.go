package webhook

import (
	"context"
	"fmt"
	"path"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/ironic"
)

// WorkloadIndex is the cache index of the Deployments, DaemonSets and Pods
// the verdict reads: value IndexIronic on those that may run Ironic (what
// ironic.Running considers), IndexBMO on BMO's controller Deployment. So the
// cached verdict reads a handful of objects, not every workload and pod of
// the cluster (2,000 pods cost a copy of each on every request).
const WorkloadIndex = "pivotcheck.dev/workload"

// WorkloadIndex values.
const (
	IndexIronic = "ironic"
	IndexBMO    = "bmo"
)

// IndexWorkload returns the WorkloadIndex extractor for the configured
// Ironic workloads.
func IndexWorkload(workloads []ironic.Workload) client.IndexerFunc {
	return func(o client.Object) []string {
		switch w := o.(type) {
		case *appsv1.Deployment:
			var out []string
			if named(workloads, w.Namespace, w.Name) || ironic.IsIronicPodTemplate(w.Spec.Template) {
				out = append(out, IndexIronic)
			}
			if d, _ := bmo.Find([]appsv1.Deployment{*w}); d != nil {
				out = append(out, IndexBMO)
			}
			return out
		case *appsv1.DaemonSet:
			if named(workloads, w.Namespace, w.Name) || ironic.IsIronicPodTemplate(w.Spec.Template) {
				return []string{IndexIronic}
			}
		case *corev1.Pod:
			if w.Labels[ironic.PodLabel] == ironic.PodLabelVal {
				return []string{IndexIronic}
			}
			if _, ok := w.Labels[ironic.IrSOPodLabel]; ok {
				return []string{IndexIronic}
			}
		}
		return nil
	}
}

// named is ironic.Running's match of a configured workload (namespace or
// "*", name pattern).
func named(ws []ironic.Workload, ns, name string) bool {
	for _, w := range ws {
		if w.Namespace != "*" && w.Namespace != ns {
			continue
		}
		if ok, err := path.Match(w.Name, name); err == nil && ok {
			return true
		}
	}
	return false
}

// cachedIronic reads from the cache exactly the objects ironic.Running
// can count, and returns them with BMO's Deployments: the indexed Ironic
// Deployments and DaemonSets, the Deployment of each IrSO Ironic
// (<name>-service), the Ironic-labelled pods, and every pod in a namespace
// of those workloads (a workload counts while it has pods, labelled or
// not). Running over this is Running over the whole cache: any other
// workload is skipped and any other pod is neither claimed nor Ironic.
func (h *Handler) cachedIronic(ctx context.Context) (ironic.Objects, []appsv1.Deployment, error) {
	var is ironic.Objects
	var deps, bmos appsv1.DeploymentList
	var dss appsv1.DaemonSetList
	var labelled corev1.PodList
	for what, l := range map[string]client.ObjectList{"Deployments": &deps, "DaemonSets": &dss, "Pods": &labelled} {
		if err := h.Cache.List(ctx, l, client.MatchingFields{WorkloadIndex: IndexIronic}); err != nil {
			return is, nil, fmt.Errorf("listing %s: %w", what, err)
		}
	}
	if err := h.Cache.List(ctx, &bmos, client.MatchingFields{WorkloadIndex: IndexBMO}); err != nil {
		return is, nil, fmt.Errorf("listing Deployments: %w", err)
	}
	if h.IrSO != nil {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(h.IrSO.GroupVersion().WithKind(h.IrSO.Kind + "List"))
		if err := h.Cache.List(ctx, l); err != nil {
			return is, nil, fmt.Errorf("listing %s: %w", h.IrSO.Kind, err)
		}
		is.IrSO = l.Items
		have := map[string]bool{}
		for _, d := range deps.Items {
			have[d.Namespace+"/"+d.Name] = true
		}
		for _, ir := range l.Items {
			key := client.ObjectKey{Namespace: ir.GetNamespace(), Name: ir.GetName() + "-service"}
			if have[key.String()] {
				continue
			}
			d := &appsv1.Deployment{}
			if err := h.Cache.Get(ctx, key, d); err != nil {
				if client.IgnoreNotFound(err) != nil {
					return is, nil, fmt.Errorf("reading Deployment %s: %w", key, err)
				}
				continue
			}
			deps.Items = append(deps.Items, *d)
		}
	}
	pods := labelled.Items
	seen := map[string]bool{}
	for _, p := range pods {
		seen[p.Namespace+"/"+p.Name] = true
	}
	listed := map[string]bool{}
	nss := make([]string, 0, len(deps.Items)+len(dss.Items))
	for _, d := range deps.Items {
		nss = append(nss, d.Namespace)
	}
	for _, d := range dss.Items {
		nss = append(nss, d.Namespace)
	}
	for _, ns := range nss {
		if listed[ns] {
			continue
		}
		listed[ns] = true
		var l corev1.PodList
		if err := h.Cache.List(ctx, &l, client.InNamespace(ns)); err != nil {
			return is, nil, fmt.Errorf("listing Pods in %s: %w", ns, err)
		}
		for _, p := range l.Items {
			if k := p.Namespace + "/" + p.Name; !seen[k] {
				seen[k] = true
				pods = append(pods, p)
			}
		}
	}
	is.Deployments, is.DaemonSets, is.Pods = deps.Items, dss.Items, pods
	return is, bmos.Items, nil
}
