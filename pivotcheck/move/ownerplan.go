package move

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
)

// Kinds owner repair handles that pivotcheck's scheme does not type.
var (
	dataTemplateGVK = schema.GroupVersionKind{Group: "infrastructure.cluster.x-k8s.io", Version: "v1beta2", Kind: "Metal3DataTemplate"}
	ipPoolGVK       = schema.GroupVersionKind{Group: "ipam.metal3.io", Version: "v1alpha1", Kind: "IPPool"}
)

// OwnerFix is one write that makes clusterctl move take an object along.
type OwnerFix struct {
	GVK  schema.GroupVersionKind
	Name string
	// Patch is a merge patch (an ownerReference with the owner's real UID, or the move label).
	Patch map[string]any
	Why   string
}

func (f OwnerFix) String() string { return fmt.Sprintf("%s %s: %s", f.GVK.Kind, f.Name, f.Why) }

// PlanOwnerFixes computes the owner repairs from listed objects (pure):
//   - Secrets a BareMetalHost's spec references (BMC credentials, userData,
//     metaData, networkData) that have no ownerReferences get one to that host
//     (BMO only adds it to the BMC Secret once it registered the host); a
//     Secret several hosts reference (shared BMC credentials) gets the move
//     label instead: owned by one host, it would be garbage-collected with
//     that host while the others still use it;
//   - Metal3DataTemplates and IPPools without an owner get their Cluster
//     (spec.clusterName) as owner, or the move label when no such Cluster exists.
//
// Objects with owners are left alone: an owner that is not moved is a
// finding for preflight (#8387), not something to overwrite.
func PlanOwnerFixes(hosts []bmov1alpha1.BareMetalHost, secrets []corev1.Secret, clusters []clusterv1.Cluster, templates, pools []unstructured.Unstructured) []OwnerFix {
	secretByName := map[string]*corev1.Secret{}
	for i := range secrets {
		secretByName[secrets[i].Name] = &secrets[i]
	}
	var out []OwnerFix
	fixed := map[string]bool{}
	hostsSorted := append([]bmov1alpha1.BareMetalHost(nil), hosts...)
	slices.SortFunc(hostsSorted, func(a, b bmov1alpha1.BareMetalHost) int { return cmp.Compare(a.Name, b.Name) })
	type secretRef struct{ field, name string }
	hostRefs := func(h *bmov1alpha1.BareMetalHost) []secretRef {
		refs := []secretRef{{"spec.bmc.credentialsName", h.Spec.BMC.CredentialsName}}
		for _, r := range []struct {
			field string
			ref   *corev1.SecretReference
		}{{"spec.userData", h.Spec.UserData}, {"spec.metaData", h.Spec.MetaData}, {"spec.networkData", h.Spec.NetworkData}} {
			if r.ref != nil && (r.ref.Namespace == "" || r.ref.Namespace == h.Namespace) {
				refs = append(refs, secretRef{r.field, r.ref.Name})
			}
		}
		return refs
	}
	users := map[string][]string{} // Secret name -> the hosts that reference it, sorted
	for i := range hostsSorted {
		for _, r := range hostRefs(&hostsSorted[i]) {
			if r.name != "" && !slices.Contains(users[r.name], hostsSorted[i].Name) {
				users[r.name] = append(users[r.name], hostsSorted[i].Name)
			}
		}
	}
	for i := range hostsSorted {
		h := &hostsSorted[i]
		for _, r := range hostRefs(h) {
			s, ok := secretByName[r.name]
			if r.name == "" || !ok || len(s.OwnerReferences) > 0 || fixed[s.Name] {
				continue
			}
			fixed[s.Name] = true
			if shared := users[s.Name]; len(shared) > 1 {
				if _, ok := s.Labels[clusterctlv1.ClusterctlMoveLabel]; ok {
					continue
				}
				out = append(out, OwnerFix{
					GVK: corev1.SchemeGroupVersion.WithKind("Secret"), Name: s.Name,
					Patch: map[string]any{"metadata": map[string]any{"labels": map[string]any{clusterctlv1.ClusterctlMoveLabel: ""}}},
					Why: fmt.Sprintf("shared by BareMetalHosts %s and owned by nothing: labelled %s (an owner reference to one host would garbage-collect it with that host)",
						strings.Join(shared, ", "), clusterctlv1.ClusterctlMoveLabel),
				})
				continue
			}
			owner := metav1.OwnerReference{APIVersion: bmov1alpha1.GroupVersion.String(), Kind: "BareMetalHost", Name: h.Name, UID: h.UID}
			out = append(out, OwnerFix{
				GVK: corev1.SchemeGroupVersion.WithKind("Secret"), Name: s.Name,
				Patch: map[string]any{"metadata": map[string]any{"ownerReferences": []metav1.OwnerReference{owner}}},
				Why:   fmt.Sprintf("referenced by BareMetalHost %s %s and owned by nothing: owner set to that host", h.Name, r.field),
			})
		}
	}
	clusterByName := map[string]*clusterv1.Cluster{}
	for i := range clusters {
		clusterByName[clusters[i].Name] = &clusters[i]
	}
	for _, set := range []struct {
		gvk  schema.GroupVersionKind
		objs []unstructured.Unstructured
	}{{dataTemplateGVK, templates}, {ipPoolGVK, pools}} {
		objs := append([]unstructured.Unstructured(nil), set.objs...)
		slices.SortFunc(objs, func(a, b unstructured.Unstructured) int { return cmp.Compare(a.GetName(), b.GetName()) })
		for _, o := range objs {
			if len(o.GetOwnerReferences()) > 0 {
				continue
			}
			if _, ok := o.GetLabels()[clusterctlv1.ClusterctlMoveLabel]; ok {
				continue
			}
			name, _, _ := unstructured.NestedString(o.Object, "spec", "clusterName")
			if cl, ok := clusterByName[name]; ok && name != "" {
				owner := metav1.OwnerReference{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster", Name: cl.Name, UID: cl.UID}
				out = append(out, OwnerFix{
					GVK: set.gvk, Name: o.GetName(),
					Patch: map[string]any{"metadata": map[string]any{"ownerReferences": []metav1.OwnerReference{owner}}},
					Why:   fmt.Sprintf("has no owner: owner set to Cluster %s from spec.clusterName", cl.Name),
				})
				continue
			}
			out = append(out, OwnerFix{
				GVK: set.gvk, Name: o.GetName(),
				Patch: map[string]any{"metadata": map[string]any{"labels": map[string]any{clusterctlv1.ClusterctlMoveLabel: ""}}},
				Why:   "has no owner and no Cluster in spec.clusterName: labelled " + clusterctlv1.ClusterctlMoveLabel,
			})
		}
	}
	return out
}
