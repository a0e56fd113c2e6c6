package testenv

import (
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// Label keys clusterctl reads (pivot-facts.md section 2).
const (
	LabelClusterctl          = "clusterctl.cluster.x-k8s.io"
	LabelMove                = "clusterctl.cluster.x-k8s.io/move"
	LabelMoveHierarchy       = "clusterctl.cluster.x-k8s.io/move-hierarchy"
	LabelProvider            = "cluster.x-k8s.io/provider"
	providerCAPI             = "cluster-api"
	providerBootstrapKubeadm = "bootstrap-kubeadm"
	providerCPKubeadm        = "control-plane-kubeadm"
	providerInfraMetal3      = "infrastructure-metal3"
	providerIPAMMetal3       = "ipam-metal3"
)

// LabelLikeClusterctl labels a CRD the way `clusterctl init` labels provider
// CRDs and Metal3's CI labels the BMO CRDs by hand: the state of a correctly
// prepared management cluster. Tests that inject a missing label start from
// this and remove one.
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
	case crd.Name == "baremetalhosts.metal3.io":
		set(LabelClusterctl, "", LabelMove, "", LabelMoveHierarchy, "")
	case crd.Name == "hardwaredata.metal3.io":
		set(LabelClusterctl, "", LabelMove, "")
	case g == "metal3.io":
		// Other BMO kinds are not labelled by Metal3 CI.
	case g == "infrastructure.cluster.x-k8s.io" && strings.HasPrefix(kind, "Metal3"):
		set(LabelClusterctl, "", LabelProvider, providerInfraMetal3)
	case g == "ipam.metal3.io":
		set(LabelClusterctl, "", LabelProvider, providerIPAMMetal3)
	case g == "bootstrap.cluster.x-k8s.io":
		set(LabelClusterctl, "", LabelProvider, providerBootstrapKubeadm)
	case g == "controlplane.cluster.x-k8s.io":
		set(LabelClusterctl, "", LabelProvider, providerCPKubeadm)
	case g == "clusterctl.cluster.x-k8s.io":
		// The inventory CRD is clusterctl's own and never moved.
		set(LabelProvider, "clusterctl")
	case strings.HasSuffix(g, "cluster.x-k8s.io"):
		set(LabelClusterctl, "", LabelProvider, providerCAPI)
	}
}
