package ironic

import (
	"fmt"
	"path"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
)

// ProviderLabel marks the components of a Cluster API provider (clusterctl
// sets it on every object it installs).
const ProviderLabel = "cluster.x-k8s.io/provider"

// CheckPatterns refuses extra workload patterns (--ironic-workload) that
// match a Deployment or DaemonSet which is not an Ironic: the hand-over
// stops every workload a pattern matches, so "*/*" would delete BMO, every
// provider and kube-system's own workloads. Refused: a workload whose pods
// run no Ironic image (nor carry an Ironic label), BMO, a Cluster API
// provider, and anything in kube-system. The defaults (DefaultWorkloads)
// are not checked: they name Ironic's usual Deployments. The error is one
// sentence naming the pattern and the workload.
func CheckPatterns(s Objects, patterns []Workload) error {
	for _, w := range patterns {
		if slices.Contains(DefaultWorkloads, w) {
			continue
		}
		for i := range s.Deployments {
			d := &s.Deployments[i]
			if why := notIronic(d.Namespace, d.Labels, d.Spec.Template, d); why != "" && w.Matches(d.Namespace, d.Name) {
				return refusal(w, "Deployment", d.Namespace, d.Name, why)
			}
		}
		for i := range s.DaemonSets {
			ds := &s.DaemonSets[i]
			if why := notIronic(ds.Namespace, ds.Labels, ds.Spec.Template, nil); why != "" && w.Matches(ds.Namespace, ds.Name) {
				return refusal(w, "DaemonSet", ds.Namespace, ds.Name, why)
			}
		}
	}
	return nil
}

// Matches reports whether the pattern names the workload ns/name.
func (w Workload) Matches(ns, name string) bool {
	return matches([]Workload{w}, ns, name)
}

func refusal(w Workload, kind, ns, name, why string) error {
	return fmt.Errorf("--ironic-workload %q matches %s %s/%s, which %s, and the Ironic hand-over would stop it: name only Ironic workloads", w.String(), kind, ns, name, why)
}

// notIronic says why a workload must never be stopped as an Ironic ("" when
// it runs Ironic). dep is the Deployment, nil for a DaemonSet.
func notIronic(ns string, labels map[string]string, t corev1.PodTemplateSpec, dep *appsv1.Deployment) string {
	if ns == "kube-system" {
		return "is in kube-system"
	}
	if p, ok := labels[ProviderLabel]; ok {
		return "belongs to the Cluster API provider " + p
	}
	for _, c := range t.Spec.Containers {
		repo, _ := bmo.SplitImage(c.Image)
		if strings.HasSuffix(repo, bmo.ImageRepoSuffix) || (dep != nil && bmo.IsController(dep, &c)) {
			return "is the baremetal-operator"
		}
	}
	if IsIronicPodTemplate(t) || runsIronicImage(t) {
		return ""
	}
	var images []string
	for _, c := range append(slices.Clone(t.Spec.InitContainers), t.Spec.Containers...) {
		images = append(images, c.Image)
	}
	return "runs no Ironic image (" + strings.Join(images, ", ") + ")"
}

// runsIronicImage: a container image whose name (the last path element of
// the repository) says ironic, like quay.io/metal3-io/ironic; an operator
// image (ironic-standalone-operator) is not Ironic.
func runsIronicImage(t corev1.PodTemplateSpec) bool {
	for _, c := range append(slices.Clone(t.Spec.InitContainers), t.Spec.Containers...) {
		repo, _ := bmo.SplitImage(c.Image)
		name := path.Base(repo)
		if strings.Contains(name, "ironic") && !strings.HasSuffix(name, "-operator") {
			return true
		}
	}
	return false
}
