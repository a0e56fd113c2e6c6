package ironic

import (
	"cmp"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
)

// Workload names a Deployment or DaemonSet; Namespace may be "*".
type Workload struct{ Namespace, Name string }

func (w Workload) String() string { return w.Namespace + "/" + w.Name }

// ParseWorkload parses "namespace/name" ("*/name" matches any namespace).
func ParseWorkload(s string) (Workload, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return Workload{}, fmt.Errorf("ironic workload %q must be namespace/name (namespace may be *)", s)
	}
	return Workload{Namespace: ns, Name: name}, nil
}

// DefaultWorkloads: BMO's ironic-deployment with its default prefix, and the
// older metal3-dev-env name (docs/facts.md#ironic-and-keepalived).
var DefaultWorkloads = []Workload{
	{Namespace: "baremetal-operator-system", Name: "baremetal-operator-ironic"},
	{Namespace: "*", Name: "metal3-ironic"},
}

// Labels that mark Ironic pods: BMO's base (name=ironic) and IrSO's.
const (
	PodLabel     = "name"
	PodLabelVal  = "ironic"
	IrSOPodLabel = "ironic.metal3.io/app"
	// IrSOGroup is the Ironic Standalone Operator's API group.
	IrSOGroup = "ironic.metal3.io"
)

// Objects are the workload objects Running reads, listed from one cluster.
type Objects struct {
	Deployments []appsv1.Deployment
	DaemonSets  []appsv1.DaemonSet
	Pods        []corev1.Pod
	// IrSO holds ironic.metal3.io Ironic resources (nil when the CRD is absent).
	IrSO []unstructured.Unstructured
}

// Instance is one running Ironic, with the command that removes it.
type Instance struct {
	Kind, Namespace, Name string
	// Why says what shows it runs: "replicas 1", "3 pods", "terminating pod".
	Why string
	// Remove is the exact kubectl command an operator runs.
	Remove string
}

func (i Instance) String() string {
	return fmt.Sprintf("%s %s/%s (%s)", i.Kind, i.Namespace, i.Name, i.Why)
}

// IsIronicPodTemplate reports whether a pod template runs Ironic: BMO's
// label, IrSO's label, or a container named "ironic".
func IsIronicPodTemplate(t corev1.PodTemplateSpec) bool {
	if t.Labels[PodLabel] == PodLabelVal {
		return true
	}
	if _, ok := t.Labels[IrSOPodLabel]; ok {
		return true
	}
	for _, c := range t.Spec.Containers {
		if c.Name == "ironic" {
			return true
		}
	}
	return false
}

func matches(ws []Workload, ns, name string) bool {
	for _, w := range ws {
		if (w.Namespace == "*" || w.Namespace == ns) && matchName(w.Name, name) {
			return true
		}
	}
	return false
}

func matchName(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// Running lists every Ironic instance still running. A workload counts when
// it is named in workloads, when it belongs to an IrSO Ironic (<name>-service),
// or when its pod template runs Ironic; it runs while it wants replicas or
// still has pods (terminating pods included). Pods left with no workload
// count on their own. Output is sorted.
func Running(s Objects, workloads []Workload) []Instance {
	var out []Instance
	irsoService := map[string]bool{}
	for _, ir := range s.IrSO {
		ns, name := ir.GetNamespace(), ir.GetName()
		irsoService[ns+"/"+name+"-service"] = true
		out = append(out, Instance{
			Kind: "Ironic", Namespace: ns, Name: name, Why: "Ironic Standalone Operator resource",
			Remove: fmt.Sprintf("kubectl -n %s delete ironic.%s %s", ns, IrSOGroup, name),
		})
	}
	podsBy := podsByOwnerSelector(s.Pods)
	claimed := map[string]bool{}
	for _, d := range s.Deployments {
		if !matches(workloads, d.Namespace, d.Name) && !irsoService[d.Namespace+"/"+d.Name] && !IsIronicPodTemplate(d.Spec.Template) {
			continue
		}
		pods := podsBy.matching(d.Namespace, d.Spec.Selector, claimed)
		replicas := ptr.Deref(d.Spec.Replicas, 1)
		if replicas == 0 && len(pods) == 0 {
			continue
		}
		out = append(out, Instance{
			Kind: "Deployment", Namespace: d.Namespace, Name: d.Name, Why: why(fmt.Sprintf("replicas %d", replicas), replicas > 0, pods),
			Remove: fmt.Sprintf("kubectl -n %s delete deployment %s && kubectl -n %s wait --for=delete pod -l %s --timeout=5m",
				d.Namespace, d.Name, d.Namespace, selectorString(d.Spec.Template.Labels)),
		})
	}
	for _, ds := range s.DaemonSets {
		if !matches(workloads, ds.Namespace, ds.Name) && !IsIronicPodTemplate(ds.Spec.Template) {
			continue
		}
		pods := podsBy.matching(ds.Namespace, ds.Spec.Selector, claimed)
		out = append(out, Instance{
			Kind: "DaemonSet", Namespace: ds.Namespace, Name: ds.Name, Why: why("daemonset exists", true, pods),
			Remove: fmt.Sprintf("kubectl -n %s delete daemonset %s && kubectl -n %s wait --for=delete pod -l %s --timeout=5m",
				ds.Namespace, ds.Name, ds.Namespace, selectorString(ds.Spec.Template.Labels)),
		})
	}
	for _, p := range s.Pods {
		key := p.Namespace + "/" + p.Name
		if claimed[key] || !isIronicPod(p) || finished(p) {
			continue
		}
		w := "pod"
		if p.DeletionTimestamp != nil {
			w = "terminating pod"
		}
		out = append(out, Instance{
			Kind: "Pod", Namespace: p.Namespace, Name: p.Name, Why: w,
			Remove: fmt.Sprintf("kubectl -n %s delete pod %s --wait", p.Namespace, p.Name),
		})
	}
	slices.SortFunc(out, func(a, b Instance) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

func why(base string, include bool, pods []corev1.Pod) string {
	parts := []string{}
	if include {
		parts = append(parts, base)
	}
	if n := len(pods); n > 0 {
		term := 0
		for _, p := range pods {
			if p.DeletionTimestamp != nil {
				term++
			}
		}
		s := fmt.Sprintf("%d pod", n)
		if n > 1 {
			s += "s"
		}
		if term > 0 {
			s += fmt.Sprintf(", %d terminating", term)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func isIronicPod(p corev1.Pod) bool {
	if p.Labels[PodLabel] == PodLabelVal {
		return true
	}
	_, ok := p.Labels[IrSOPodLabel]
	return ok
}

// finished pods hold no ports or leases any more.
func finished(p corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func selectorString(set map[string]string) string {
	parts := make([]string, 0, len(set))
	for _, k := range slices.Sorted(maps.Keys(set)) {
		parts = append(parts, k+"="+set[k])
	}
	return strings.Join(parts, ",")
}

type podIndex map[string][]corev1.Pod // by namespace

func podsByOwnerSelector(pods []corev1.Pod) podIndex {
	idx := podIndex{}
	for _, p := range pods {
		if finished(p) {
			continue
		}
		idx[p.Namespace] = append(idx[p.Namespace], p)
	}
	return idx
}

// matching returns the namespace's pods selected by sel, marking them
// claimed so they are not reported twice. An invalid or empty selector
// selects nothing (the API server rejects those for workloads anyway).
func (idx podIndex) matching(ns string, sel *metav1.LabelSelector, claimed map[string]bool) []corev1.Pod {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		return nil
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil
	}
	var out []corev1.Pod
	for _, p := range idx[ns] {
		if selector.Matches(labels.Set(p.Labels)) {
			claimed[p.Namespace+"/"+p.Name] = true
			out = append(out, p)
		}
	}
	return out
}
