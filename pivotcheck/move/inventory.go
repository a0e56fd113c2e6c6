package move

import (
	"context"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// movableKinds maps each kind clusterctl considers (CRDs with its label, at
// their storage version, plus Secrets and ConfigMaps) to its GVKs. clusterctl's
// events carry no group, so a kind may map to more than one.
func movableKinds(ctx context.Context, c client.Client) (map[string][]schema.GroupVersionKind, error) {
	crds := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := c.List(ctx, crds, client.HasLabels{clusterctlv1.ClusterctlLabel}); err != nil {
		return nil, fmt.Errorf("listing CRDs labelled %s: %w", clusterctlv1.ClusterctlLabel, err)
	}
	out := map[string][]schema.GroupVersionKind{
		"Secret":    {{Version: "v1", Kind: "Secret"}},
		"ConfigMap": {{Version: "v1", Kind: "ConfigMap"}},
	}
	for _, crd := range crds.Items {
		if crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if v.Storage {
				k := crd.Spec.Names.Kind
				out[k] = append(out[k], schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: k})
			}
		}
	}
	return out, nil
}

// inventory counts the objects of the given kinds in the namespace, keyed
// by group, kind and name (so a count above 1 cannot come from two groups
// sharing a kind name). only, when non-nil, limits the kinds listed.
func inventory(ctx context.Context, c client.Client, ns string, kinds map[string][]schema.GroupVersionKind, only map[string]bool) (map[mover.Object]int, error) {
	var gvks []schema.GroupVersionKind
	for kind, gs := range kinds {
		if only != nil && !only[kind] {
			continue
		}
		gvks = append(gvks, gs...)
	}
	out := map[mover.Object]int{}
	err := listEach(ctx, c, ns, gvks, func(gvk schema.GroupVersionKind, l *unstructured.UnstructuredList) error {
		for _, it := range l.Items {
			out[mover.Object{Group: gvk.Group, Kind: gvk.Kind, Namespace: ns, Name: it.GetName()}]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
