// Check group 8: target namespace.

package preflight

import (
	"cmp"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/kube"
)

// checkSameCluster: two kubeconfigs that reach one API server would make
// every other target check read the source, and clusterctl "move" the
// namespace onto itself, then delete it.
func checkSameCluster(s *Snapshot) []Finding {
	if !s.Source.Identity.Same(s.Target.Identity) {
		return nil
	}
	return []Finding{finding(SameCluster, SeverityError, ref("v1", "Namespace", "", kube.IdentityNamespace),
		fmt.Sprintf("the source (%s) and the target (%s) are the same cluster: their kube-system Namespace has the same UID %s", s.Source.Identity.Server, s.Target.Identity.Server, s.Source.Identity.UID))}
}

func checkTargetNamespace(s *Snapshot) []Finding {
	nsRef := ref("v1", "Namespace", "", s.Namespace)
	if !s.Target.NamespaceExists {
		return []Finding{finding(TargetNamespace, SeverityInfo, nsRef, fmt.Sprintf("namespace %s does not exist in the target: clusterctl move creates it", s.Namespace))}
	}
	out := []Finding{finding(TargetNamespace, SeverityInfo, nsRef, fmt.Sprintf("namespace %s exists in the target", s.Namespace))}
	moving := map[objKey]bool{}
	for _, o := range s.Plan {
		moving[objKey{o.Kind, o.Namespace, o.Name}] = true
	}
	for k := range mustMove(s) {
		moving[k] = true
	}
	byKind := map[string][]*metav1.PartialObjectMetadata{}
	var kinds []string
	for i := range s.Target.Objects {
		o := &s.Target.Objects[i]
		if !moving[objKey{o.Kind, o.Namespace, o.Name}] {
			continue
		}
		if byKind[o.Kind] == nil {
			kinds = append(kinds, o.Kind)
		}
		byKind[o.Kind] = append(byKind[o.Kind], o)
	}
	slices.Sort(kinds)
	for _, kind := range kinds {
		objs := byKind[kind]
		slices.SortFunc(objs, func(a, b *metav1.PartialObjectMetadata) int { return cmp.Compare(a.Name, b.Name) })
		names := make([]string, len(objs))
		for i, o := range objs {
			names[i] = o.Name
		}
		out = append(out, finding(TargetCollision, SeverityWarning, metaRef(objs[0]),
			fmt.Sprintf("%d %s object(s) with the names of objects to move already exist in the target namespace %s (clusterctl updates them): %s", len(objs), kind, s.Namespace, hostsafety.Summarize(names, 5))))
	}
	return out
}
