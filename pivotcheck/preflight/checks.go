package preflight

import (
	"cmp"
	"slices"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
)

// Label keys clusterctl reads (docs/facts.md#clusterctl-labels).
const (
	labelClusterctl    = clusterctlv1.ClusterctlLabel
	labelMove          = clusterctlv1.ClusterctlMoveLabel
	labelMoveHierarchy = clusterctlv1.ClusterctlMoveHierarchyLabel
	labelProvider      = clusterv1.ProviderNameLabel
	labelClusterName   = clusterv1.ClusterNameLabel
)

var (
	hostKind = kindKey{bmov1alpha1.GroupVersion.Group, "BareMetalHost"}
	hwKind   = kindKey{bmov1alpha1.GroupVersion.Group, "HardwareData"}
)

// checkFunc is one pure check over a snapshot.
type checkFunc func(s *Snapshot) []Finding

// checks run in this order; each may emit several IDs of its group.
var checks = []checkFunc{
	checkCRDs, checkProviders, checkBMO, checkClusters, checkHosts, checkLiveISO, checkStatusAnnotations, checkBlockMove, checkBypassLeft,
	checkIronic, checkIronicExternal, checkOwnerChain, checkSameCluster, checkTargetNamespace, checkManual,
}

// Evaluate runs every check over s; findings come sorted by check order,
// then object.
func Evaluate(s *Snapshot) []Finding {
	out := []Finding{}
	for _, c := range checks {
		out = append(out, c(s)...)
	}
	order := map[string]int{}
	for i, c := range Catalog {
		order[c.ID] = i
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(order[a.Check], order[b.Check]),
			cmp.Compare(a.Object.Namespace, b.Object.Namespace),
			cmp.Compare(a.Object.Kind, b.Object.Kind),
			cmp.Compare(a.Object.Name, b.Object.Name),
		)
	})
	return out
}

func finding(check string, sev Severity, obj ObjectRef, msg string) Finding {
	hint := ""
	for _, c := range Catalog {
		if c.ID == check {
			hint = c.Fix
		}
	}
	return Finding{Check: check, Severity: sev, Object: obj, Message: msg, Hint: hint}
}

func withHint(f Finding, hint string) Finding { f.Hint = hint; return f }

func ref(apiVersion, kind, ns, name string) ObjectRef {
	return ObjectRef{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: name}
}

func crdRef(crd *apiextensionsv1.CustomResourceDefinition) ObjectRef {
	return ref("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", crd.Name)
}

func metaRef(o *metav1.PartialObjectMetadata) ObjectRef {
	return ref(o.APIVersion, o.Kind, o.Namespace, o.Name)
}
