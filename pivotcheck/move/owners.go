package move

import (
	"cmp"
	"context"
	"encoding/json"
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
	"sigs.k8s.io/controller-runtime/pkg/client"
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

// listOwnerInputs lists what PlanOwnerFixes needs from the source namespace.
func listOwnerInputs(ctx context.Context, c client.Client, ns string) ([]bmov1alpha1.BareMetalHost, []corev1.Secret, []clusterv1.Cluster, []unstructured.Unstructured, []unstructured.Unstructured, error) {
	hosts := &bmov1alpha1.BareMetalHostList{}
	if err := c.List(ctx, hosts, client.InNamespace(ns)); err != nil {
		return nil, nil, nil, nil, nil, fmt.Errorf("listing BareMetalHosts in %s: %w", ns, err)
	}
	secrets := &corev1.SecretList{}
	if err := c.List(ctx, secrets, client.InNamespace(ns)); err != nil {
		return nil, nil, nil, nil, nil, fmt.Errorf("listing Secrets in %s: %w", ns, err)
	}
	clusters := &clusterv1.ClusterList{}
	if err := c.List(ctx, clusters, client.InNamespace(ns)); err != nil {
		return nil, nil, nil, nil, nil, fmt.Errorf("listing Clusters in %s: %w", ns, err)
	}
	list := func(gvk schema.GroupVersionKind) ([]unstructured.Unstructured, error) {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, l, client.InNamespace(ns)); err != nil {
			if isNoKind(err) {
				return nil, nil
			}
			return nil, fmt.Errorf("listing %s in %s: %w", gvk.Kind, ns, err)
		}
		return l.Items, nil
	}
	tmpl, err := list(dataTemplateGVK)
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	pools, err := list(ipPoolGVK)
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	return hosts.Items, secrets.Items, clusters.Items, tmpl, pools, nil
}

// applyOwnerFixes sends each fix as a merge patch.
func applyOwnerFixes(ctx context.Context, c client.Client, ns string, fixes []OwnerFix) error {
	for _, f := range fixes {
		raw, err := json.Marshal(f.Patch)
		if err != nil {
			return fmt.Errorf("encoding owner fix of %s %s/%s: %w", f.GVK.Kind, ns, f.Name, err)
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(f.GVK)
		u.SetNamespace(ns)
		u.SetName(f.Name)
		if err := retryWrite(ctx, func() error { return c.Patch(ctx, u, client.RawPatch("application/merge-patch+json", raw)) }); err != nil {
			return fmt.Errorf("repairing owner of %s %s/%s: %w", f.GVK.Kind, ns, f.Name, err)
		}
	}
	return nil
}
