package testenv

import (
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
)

// Label keys clusterctl reads, as cluster-api names them; provider names
// as `clusterctl init` gives them.
const (
	LabelClusterctl          = clusterctlv1.ClusterctlLabel
	LabelMove                = clusterctlv1.ClusterctlMoveLabel
	LabelMoveHierarchy       = clusterctlv1.ClusterctlMoveHierarchyLabel
	LabelProvider            = clusterv1.ProviderNameLabel
	providerCAPI             = "cluster-api"
	providerBootstrapKubeadm = "bootstrap-kubeadm"
	providerCPKubeadm        = "control-plane-kubeadm"
	providerInfraMetal3      = "infrastructure-metal3"
	providerIPAMMetal3       = "ipam-metal3"
)

// LabelLikeClusterctl labels a CRD the way a management cluster prepared
// for a pivot has it: `clusterctl init`'s labels on provider CRDs, and on
// BMO's CRDs the labels pivotcheck's KRM function gives them (Metal3's CI
// labels only BareMetalHost and HardwareData, by hand; the other kinds that
// hold user intent need them too). Tests that inject a missing label start
// from this and remove one.
func LabelLikeClusterctl(crd *apiextensionsv1.CustomResourceDefinition) {
	set := func(kv ...string) {
		if crd.Labels == nil {
			crd.Labels = map[string]string{}
		}
		for i := 0; i < len(kv); i += 2 {
			crd.Labels[kv[i]] = kv[i+1]
		}
	}
	g, kind := crd.Spec.Group, crd.Spec.Names.Kind
	switch {
	case g == bmo.Group:
		p, _ := bmo.Policy(kind)
		for _, l := range p.Labels {
			set(l, "")
		}
	case g == "infrastructure.cluster.x-k8s.io" && strings.HasPrefix(kind, "Metal3"):
		set(LabelClusterctl, "", LabelProvider, providerInfraMetal3)
	case g == "ipam.metal3.io":
		set(LabelClusterctl, "", LabelProvider, providerIPAMMetal3)
	case g == "bootstrap.cluster.x-k8s.io":
		set(LabelClusterctl, "", LabelProvider, providerBootstrapKubeadm)
	case g == "controlplane.cluster.x-k8s.io":
		set(LabelClusterctl, "", LabelProvider, providerCPKubeadm)
	case g == clusterctlv1.GroupVersion.Group:
		// The inventory CRD is clusterctl's own and never moved.
		set(LabelProvider, "clusterctl")
	case strings.HasSuffix(g, "cluster.x-k8s.io"):
		set(LabelClusterctl, "", LabelProvider, providerCAPI)
	}
}

// LikeCAPM3v114 turns CAPM3 v1.13.2's CRDs into what CAPM3 1.14 ships where
// a pivot can tell the difference: the Metal3DataTemplate CRD carries the
// move label, and spec.clusterName (deprecated) is optional in v1beta2.
// (github.com/metal3-io/cluster-api-provider-metal3, release-1.14:
// config/crd/bases/infrastructure.cluster.x-k8s.io_metal3datatemplates.yaml.)
// Compose it with a labeller: func(c) { LabelLikeClusterctl(c); LikeCAPM3v114(c) }.
func LikeCAPM3v114(crd *apiextensionsv1.CustomResourceDefinition) {
	if crd.Spec.Group != "infrastructure.cluster.x-k8s.io" || crd.Spec.Names.Kind != "Metal3DataTemplate" {
		return
	}
	if crd.Labels == nil {
		crd.Labels = map[string]string{}
	}
	crd.Labels[LabelMove] = ""
	for i := range crd.Spec.Versions {
		v := &crd.Spec.Versions[i]
		if v.Name != "v1beta2" || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		spec, ok := v.Schema.OpenAPIV3Schema.Properties["spec"]
		if !ok {
			continue
		}
		spec.Required = slices.DeleteFunc(spec.Required, func(f string) bool { return f == "clusterName" })
		if cn, ok := spec.Properties["clusterName"]; ok {
			cn.MinLength = nil
			spec.Properties["clusterName"] = cn
		}
		v.Schema.OpenAPIV3Schema.Properties["spec"] = spec
	}
}
