// Check group 7: owner chain (clusterctl's own dry-run plan vs what must move).

package preflight

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	secretutil "sigs.k8s.io/cluster-api/util/secret"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
)

type objKey struct{ Kind, Namespace, Name string }

// mustMove returns, per object, why it has to move (empty: it need not).
func mustMove(s *Snapshot) map[objKey]string {
	out := map[objKey]string{}
	clusters := map[string]bool{}
	for i := range s.Source.Clusters {
		clusters[s.Source.Clusters[i].Name] = true
	}
	hostSecrets := map[string]string{}
	for i := range s.Source.Hosts {
		h := &s.Source.Hosts[i]
		add := func(ref *corev1.SecretReference, what string) {
			if ref != nil && ref.Name != "" && (ref.Namespace == "" || ref.Namespace == h.Namespace) {
				hostSecrets[ref.Name] = fmt.Sprintf("the %s Secret of BareMetalHost %s", what, h.Name)
			}
		}
		if h.Spec.BMC.CredentialsName != "" {
			hostSecrets[h.Spec.BMC.CredentialsName] = "the BMC credentials Secret of BareMetalHost " + h.Name
		}
		add(h.Spec.UserData, "user-data")
		add(h.Spec.MetaData, "meta-data")
		add(h.Spec.NetworkData, "network-data")
	}
	for i := range s.Source.Objects {
		o := &s.Source.Objects[i]
		k := objKey{o.Kind, o.Namespace, o.Name}
		switch o.GroupVersionKind().GroupKind().String() {
		case "Secret":
			switch {
			case hostSecrets[o.Name] != "":
				out[k] = hostSecrets[o.Name]
			case clusterSecret(o.Name, clusters):
				out[k] = "a Cluster secret"
			case o.Labels[labelClusterName] != "":
				out[k] = "labelled " + labelClusterName + "=" + o.Labels[labelClusterName]
			case len(o.OwnerReferences) > 0:
				out[k] = "owned by " + ownerList(o)
			}
		case "ConfigMap":
			switch {
			case o.Labels[labelClusterName] != "":
				out[k] = "labelled " + labelClusterName + "=" + o.Labels[labelClusterName]
			case len(o.OwnerReferences) > 0:
				out[k] = "owned by " + ownerList(o)
			}
		default:
			if o.GroupVersionKind().Group == bmov1alpha1.GroupVersion.Group && !bmo.MustMove(o.Kind) {
				continue // BMO rebuilds it in the target
			}
			out[k] = "a " + o.Kind
		}
	}
	return out
}

// clusterSecret reports whether clusterctl moves the Secret with a Cluster
// by its name (<cluster>-<purpose>), parsed as clusterctl's soft ownership
// parses it.
func clusterSecret(name string, clusters map[string]bool) bool {
	c, _, err := secretutil.ParseSecretName(name)
	return err == nil && clusters[c]
}

func ownerList(o *metav1.PartialObjectMetadata) string {
	parts := make([]string, 0, len(o.OwnerReferences))
	for _, r := range o.OwnerReferences {
		parts = append(parts, r.Kind+" "+r.Name)
	}
	return strings.Join(parts, ", ")
}

func checkOwnerChain(s *Snapshot) []Finding {
	if s.PlanErr != nil {
		return []Finding{finding(OwnerChain, SeverityWarning, ref("v1", "Namespace", "", s.Namespace),
			fmt.Sprintf("clusterctl's dry run refused, so what it would leave behind is unknown: %v; fix the errors above and re-run", s.PlanErr))}
	}
	inPlan := make(map[objKey]bool, len(s.Plan))
	for _, o := range s.Plan {
		inPlan[objKey{o.Kind, o.Namespace, o.Name}] = true
	}
	byUID := make(map[string]*metav1.PartialObjectMetadata, len(s.Source.Objects))
	for i := range s.Source.Objects {
		byUID[string(s.Source.Objects[i].UID)] = &s.Source.Objects[i]
	}
	unlabelled := unlabelledKinds(s)
	// fromUnlabelled: the object is left behind because of an unlabelled
	// CRD somewhere up its chain; crd-labels-source already reports that.
	memo := map[string]bool{}
	var fromUnlabelled func(o *metav1.PartialObjectMetadata, depth int) bool
	fromUnlabelled = func(o *metav1.PartialObjectMetadata, depth int) bool {
		if unlabelled[kindKey{o.GroupVersionKind().Group, o.Kind}] {
			return true
		}
		if v, ok := memo[string(o.UID)]; ok || depth > 20 {
			return v
		}
		memo[string(o.UID)] = false
		for _, r := range o.OwnerReferences {
			if owner := byUID[string(r.UID)]; owner != nil && !inPlan[objKey{owner.Kind, owner.Namespace, owner.Name}] && fromUnlabelled(owner, depth+1) {
				memo[string(o.UID)] = true
				return true
			}
		}
		return false
	}

	var out []Finding
	must := mustMove(s)
	for i := range s.Source.Objects {
		o := &s.Source.Objects[i]
		k := objKey{o.Kind, o.Namespace, o.Name}
		why, ok := must[k]
		if !ok || inPlan[k] || fromUnlabelled(o, 0) {
			continue
		}
		msg, hint := leftBehind(o, why, byUID, inPlan)
		out = append(out, withHint(finding(OwnerChain, SeverityError, metaRef(o), msg), hint))
	}
	slices.SortFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Object.Kind, b.Object.Kind), cmp.Compare(a.Object.Name, b.Object.Name))
	})
	return out
}

func leftBehind(o *metav1.PartialObjectMetadata, why string, byUID map[string]*metav1.PartialObjectMetadata, inPlan map[objKey]bool) (string, string) {
	name := fmt.Sprintf("%s %s/%s (%s)", o.Kind, o.Namespace, o.Name, why)
	fixOwners := "run `pivotcheck move --fix-owners`, or label it " + labelMove + "="
	for _, r := range o.OwnerReferences {
		owner := byUID[string(r.UID)]
		switch {
		case owner == nil:
			return fmt.Sprintf("%s would be left behind by clusterctl move: its owner %s %s does not exist in the namespace (a dangling ownerReference)", name, r.Kind, r.Name),
				"remove the dangling ownerReference, then " + fixOwners
		case !inPlan[objKey{owner.Kind, owner.Namespace, owner.Name}]:
			return fmt.Sprintf("%s would be left behind by clusterctl move: its owner %s %s is not moved, and clusterctl skips every object with an owner it does not move (cluster-api #8387)", name, r.Kind, r.Name),
				fmt.Sprintf("fix the owner %s %s (see its finding) or drop that ownerReference; %s", r.Kind, r.Name, fixOwners)
		}
	}
	hint := fixOwners
	switch {
	case o.GroupVersionKind().Group == bmov1alpha1.GroupVersion.Group && o.Kind != "BareMetalHost" && o.Kind != "HardwareData":
		hint = fmt.Sprintf("label the %s CRD %s= (the KRM function's defaults do; then every %s moves), or label this object %s=", o.Kind, labelMove, o.Kind, labelMove)
	case o.Kind == "Metal3DataTemplate":
		hint = "label the Metal3DataTemplate CRD " + labelMove + "= (the KRM function's defaults do, CAPM3 1.14 ships it so), set spec.clusterName (CAPM3 ≤ 1.13 then adds the Cluster owner), or " + fixOwners
	case o.Kind == "IPPool":
		hint = "set spec.clusterName (the provider then adds the Cluster owner), or " + fixOwners
	case o.Kind == "Secret":
		hint = fmt.Sprintf("kubectl -n %s label secret %s %s= (or %s)", o.Namespace, o.Name, labelMove, "`pivotcheck move --fix-owners`")
	}
	return fmt.Sprintf("%s would be left behind by clusterctl move: it has no owner chain to a Cluster and no %s label", name, labelMove), hint
}
