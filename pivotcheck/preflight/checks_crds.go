// Check group 1: CRD labels.

package preflight

import (
	"fmt"
	"strings"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
)

func requiredLabels(crd *apiextensionsv1.CustomResourceDefinition) []string {
	k := kindKey{crd.Spec.Group, crd.Spec.Names.Kind}
	switch {
	case k == hostKind:
		// move-hierarchy alone makes clusterctl move every host.
		return []string{labelClusterctl, labelMoveHierarchy}
	case k.Group == bmov1alpha1.GroupVersion.Group:
		// BMO sets owner references on these only once it registered the
		// host, and never on some: the move label takes them all.
		p, _ := bmo.Policy(k.Kind)
		return p.Labels
	}
	return []string{labelClusterctl}
}

func missingLabels(crd *apiextensionsv1.CustomResourceDefinition) []string {
	var out []string
	for _, l := range requiredLabels(crd) {
		if _, ok := crd.Labels[l]; !ok {
			out = append(out, l)
		}
	}
	return out
}

func countByKind(objs []metav1.PartialObjectMetadata) map[kindKey]int {
	out := map[kindKey]int{}
	for i := range objs {
		out[kindKey{objs[i].GroupVersionKind().Group, objs[i].Kind}]++
	}
	return out
}

// unlabelledKinds are source kinds clusterctl does not discover at all.
func unlabelledKinds(s *Snapshot) map[kindKey]bool {
	out := map[kindKey]bool{}
	for i := range s.Source.CRDs {
		crd := &s.Source.CRDs[i]
		if relevantCRD(crd) {
			if _, ok := crd.Labels[labelClusterctl]; !ok {
				out[kindKey{crd.Spec.Group, crd.Spec.Names.Kind}] = true
			}
		}
	}
	return out
}

func checkCRDs(s *Snapshot) []Finding {
	var out []Finding
	counts := countByKind(s.Source.Objects)
	// edited counts objects whose spec changed after creation (generation > 1).
	edited := map[kindKey]int{}
	for i := range s.Source.Objects {
		if o := &s.Source.Objects[i]; o.Generation > 1 {
			edited[kindKey{o.GroupVersionKind().Group, o.Kind}]++
		}
	}
	for i := range s.Source.CRDs {
		crd := &s.Source.CRDs[i]
		if !relevantCRD(crd) {
			continue
		}
		k := kindKey{crd.Spec.Group, crd.Spec.Names.Kind}
		if miss := missingLabels(crd); len(miss) > 0 {
			n := counts[k]
			sev := SeverityWarning
			msg := fmt.Sprintf("CRD %s lacks label %s; namespace %s has no %s objects now, a later one would be left behind", crd.Name, strings.Join(miss, ", "), s.Namespace, k.Kind)
			p, _ := bmo.Policy(k.Kind)
			switch {
			case k.Group == bmov1alpha1.GroupVersion.Group && p.CreatedByBMO && n > 0 && edited[k] == 0:
				// BMO creates these empty for every registered host: what is
				// lost is only what a user wrote into them since.
				msg = fmt.Sprintf("CRD %s lacks label %s: clusterctl move leaves the %d %s objects of namespace %s behind; BMO created them and none was edited since (generation 1), but settings written later (or at creation) would be lost: the target's BMO creates empty ones", crd.Name, strings.Join(miss, ", "), n, k.Kind, s.Namespace)
			case k.Group == bmov1alpha1.GroupVersion.Group && p.CreatedByBMO && n > 0:
				sev = SeverityError
				msg = fmt.Sprintf("CRD %s lacks label %s: clusterctl move leaves the %d %s objects of namespace %s behind, %d of them edited since BMO created them (%s), and the target's BMO creates empty ones", crd.Name, strings.Join(miss, ", "), n, k.Kind, s.Namespace, edited[k], p.Why)
			case n > 0 || k == hostKind || k == hwKind:
				sev = SeverityError
				msg = fmt.Sprintf("CRD %s lacks label %s: clusterctl move leaves the %d %s objects of namespace %s behind (or moves them without their descendants)", crd.Name, strings.Join(miss, ", "), n, k.Kind, s.Namespace)
			}
			out = append(out, withHint(finding(CRDLabelsSource, sev, crdRef(crd), msg), labelHint(crd, miss)))
		}
	}
	for i := range s.Target.CRDs {
		crd := &s.Target.CRDs[i]
		if !relevantCRD(crd) {
			continue
		}
		if miss := missingLabels(crd); len(miss) > 0 {
			out = append(out, withHint(finding(CRDLabelsTarget, SeverityWarning, crdRef(crd),
				fmt.Sprintf("CRD %s in the target lacks label %s: a later move back would leave its objects behind", crd.Name, strings.Join(miss, ", "))), labelHint(crd, miss)))
		}
	}
	for _, side := range []struct {
		name string
		crds []apiextensionsv1.CustomResourceDefinition
	}{{"source", s.Source.CRDs}, {"target", s.Target.CRDs}} {
		for i := range side.crds {
			crd := &side.crds[i]
			if crd.Spec.Group != bmov1alpha1.GroupVersion.Group {
				continue
			}
			if v, ok := crd.Labels[labelProvider]; ok {
				out = append(out, withHint(finding(CRDProviderLabel, SeverityWarning, crdRef(crd),
					fmt.Sprintf("CRD %s in the %s carries %s=%s: `clusterctl delete --include-crd` of that provider would delete the CRD and every object of it", crd.Name, side.name, labelProvider, v)),
					fmt.Sprintf("kubectl label crd %s %s-", crd.Name, labelProvider)))
			}
		}
	}

	// The target must know every kind that moves, at the version clusterctl copies.
	target := map[kindKey]*apiextensionsv1.CustomResourceDefinition{}
	for i := range s.Target.CRDs {
		crd := &s.Target.CRDs[i]
		target[kindKey{crd.Spec.Group, crd.Spec.Names.Kind}] = crd
	}
	for i := range s.Source.CRDs {
		crd := &s.Source.CRDs[i]
		k := kindKey{crd.Spec.Group, crd.Spec.Names.Kind}
		needed := counts[k] > 0 || k == hostKind || k == hwKind ||
			(crd.Spec.Group == "infrastructure.cluster.x-k8s.io" && strings.HasPrefix(k.Kind, "Metal3"))
		if !relevantCRD(crd) || !needed {
			continue
		}
		t := target[k]
		if t == nil {
			out = append(out, finding(CRDTargetMissing, SeverityError, crdRef(crd),
				fmt.Sprintf("the target has no CRD %s, so clusterctl cannot create the %d %s objects there", crd.Name, counts[k], k.Kind)))
			continue
		}
		v := storageVersion(crd)
		served := false
		for _, tv := range t.Spec.Versions {
			if tv.Name == v && tv.Served {
				served = true
			}
		}
		if !served {
			out = append(out, finding(CRDTargetVersion, SeverityError, crdRef(t),
				fmt.Sprintf("CRD %s in the target does not serve %s, the source's storage version in which clusterctl copies the objects", t.Name, v)))
		}
	}
	return out
}

func labelHint(crd *apiextensionsv1.CustomResourceDefinition, miss []string) string {
	parts := make([]string, len(miss))
	for i, l := range miss {
		parts[i] = l + "="
	}
	return fmt.Sprintf("kubectl label crd %s %s (or run the pivotcheck KRM function on the manifests)", crd.Name, strings.Join(parts, " "))
}
