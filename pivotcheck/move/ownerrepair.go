// Phase owner-repair: the writes that make clusterctl take orphaned objects along.

package move

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/kube"
)

func (d *driver) fixOwners(ctx context.Context) (string, error) {
	if err := d.ensureRecorded(); err != nil {
		return "", err
	}
	hosts, secrets, clusters, tmpl, pools, err := listOwnerInputs(ctx, d.src, d.opts.Namespace)
	if err != nil {
		return "", err
	}
	fixes := PlanOwnerFixes(hosts, secrets, clusters, tmpl, pools)
	// Set before the first patch: a half-applied repair changed the graph too.
	d.ownersWrote = d.ownersWrote || len(fixes) > 0
	if err := applyOwnerFixes(ctx, d.src, d.opts.Namespace, fixes); err != nil {
		return "", err
	}
	var s []string
	for _, f := range fixes {
		s = append(s, f.String())
	}
	if d.opts.RecheckOwners != nil {
		// Only owner chains the repair understands are fixed; anything else
		// clusterctl would still leave behind must stop the move here.
		blocking, _, err := d.opts.RecheckOwners(ctx, nil)
		if err != nil {
			return "", fmt.Errorf("re-checking owner chains after the repair: %w", err)
		}
		if len(blocking) > 0 {
			return "", fmt.Errorf("%d object(s) repaired%s, but %d would still be left behind, nothing was moved: %s", len(fixes), listSuffix(s), len(blocking), strings.Join(blocking, "; "))
		}
	}
	return fmt.Sprintf("%d object(s) repaired%s", len(fixes), listSuffix(s)), nil
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
			if kube.KindMissing(err) {
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
