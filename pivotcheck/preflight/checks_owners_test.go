package preflight

import (
	"errors"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/pivotcheck/pivotcheck/internal/mover"
)

func TestCheckOwnerChain(t *testing.T) {
	crds := goodCRDs()
	crds = append(crds, crd("infrastructure.cluster.x-k8s.io", "Metal3DataTemplate", lblCtl), crd("infrastructure.cluster.x-k8s.io", "Metal3Data", lblCtl))
	base := func() *Snapshot {
		h := host("h0", bmov1alpha1.StateProvisioned, true, nil)
		h.Spec.UserData = &corev1.SecretReference{Name: "ud"}
		return &Snapshot{
			Namespace: "ns",
			Source: Side{CRDs: append([]apiextensionsv1.CustomResourceDefinition(nil), crds...), Clusters: []clusterv1.Cluster{provisionedCluster("c")}, Hosts: []bmov1alpha1.BareMetalHost{h}, Objects: []metav1.PartialObjectMetadata{
				obj("cluster.x-k8s.io/v1beta2", "Cluster", "c"),
				obj("infrastructure.cluster.x-k8s.io/v1beta2", "Metal3Machine", "h0", owner("Cluster", "c")),
				obj("metal3.io/v1alpha1", "BareMetalHost", "h0", owner("Metal3Machine", "h0")),
				obj("metal3.io/v1alpha1", "HardwareData", "h0", owner("BareMetalHost", "h0")),
				obj("v1", "Secret", "h0-bmc", owner("BareMetalHost", "h0")),
				obj("v1", "Secret", "ud"),
				obj("v1", "Secret", "c-kubeconfig"),
				obj("v1", "Secret", "unrelated"),
				obj("v1", "ConfigMap", "unrelated"),
				obj("infrastructure.cluster.x-k8s.io/v1beta2", "Metal3DataTemplate", "dt"),
				obj("infrastructure.cluster.x-k8s.io/v1beta2", "Metal3Data", "dt-0", owner("Metal3DataTemplate", "dt"), owner("Metal3Machine", "h0")),
			}},
			Plan: []mover.Object{
				{Kind: "Cluster", Namespace: "ns", Name: "c"}, {Kind: "Metal3Machine", Namespace: "ns", Name: "h0"},
				{Kind: "BareMetalHost", Namespace: "ns", Name: "h0"}, {Kind: "HardwareData", Namespace: "ns", Name: "h0"},
				{Kind: "Secret", Namespace: "ns", Name: "h0-bmc"}, {Kind: "Secret", Namespace: "ns", Name: "c-kubeconfig"},
			},
		}
	}
	t.Run("left behind", func(t *testing.T) {
		got := checkOwnerChain(base())
		requireFindings(t, got, []want{
			{check: OwnerChain, sev: SeverityError, name: "dt-0", msg: "its owner Metal3DataTemplate dt is not moved"},
			{check: OwnerChain, sev: SeverityError, name: "dt", msg: "no owner chain"},
			{check: OwnerChain, sev: SeverityError, name: "ud", msg: "the user-data Secret of BareMetalHost h0"},
		})
		require.Contains(t, got[1].Hint, "spec.clusterName")
		require.Contains(t, got[2].Hint, "kubectl -n ns label secret ud clusterctl.cluster.x-k8s.io/move=")
	})
	t.Run("unlabelled CRD is crd-labels-source's finding", func(t *testing.T) {
		s := base()
		for i := range s.Source.CRDs {
			if s.Source.CRDs[i].Spec.Names.Kind == "Metal3DataTemplate" {
				s.Source.CRDs[i].Labels = nil
			}
		}
		requireFindings(t, checkOwnerChain(s), []want{{check: OwnerChain, sev: SeverityError, name: "ud", msg: "user-data"}})
	})
	t.Run("dangling owner", func(t *testing.T) {
		s := base()
		s.Source.Objects = append(s.Source.Objects, obj("v1", "ConfigMap", "cm", owner("Machine", "gone")))
		got := checkOwnerChain(s)
		require.Equal(t, "cm", got[0].Object.Name)
		require.Contains(t, got[0].Message, "does not exist in the namespace")
	})
	// Every metal3.io kind in the namespace is covered, known or not; the
	// ones BMO rebuilds are not required.
	t.Run("BMO kinds", func(t *testing.T) {
		s := base()
		s.Source.CRDs = append(s.Source.CRDs, crd("metal3.io", "HostUpdatePolicy", lblCtl, "v1alpha1"),
			crd("metal3.io", "HostFuturePolicy", lblCtl, "v1alpha1"))
		s.Source.Objects = append(s.Source.Objects,
			obj("metal3.io/v1alpha1", "HostFirmwareSettings", "h0", owner("BareMetalHost", "h0")),
			obj("metal3.io/v1alpha1", "HostUpdatePolicy", "h0"), // written before BMO registered the host: no owner yet
			obj("metal3.io/v1alpha1", "HostFuturePolicy", "p"),
			obj("metal3.io/v1alpha1", "PreprovisioningImage", "h0", owner("BareMetalHost", "h0")),
		)
		s.Plan = append(s.Plan, mover.Object{Kind: "HostFirmwareSettings", Namespace: "ns", Name: "h0"})
		got := checkOwnerChain(s)
		requireFindings(t, got, []want{
			{check: OwnerChain, sev: SeverityError, name: "p", msg: "HostFuturePolicy ns/p (a HostFuturePolicy) would be left behind"},
			{check: OwnerChain, sev: SeverityError, name: "h0", msg: "HostUpdatePolicy ns/h0 (a HostUpdatePolicy) would be left behind by clusterctl move: it has no owner chain"},
			{check: OwnerChain, sev: SeverityError, name: "dt-0", msg: "its owner Metal3DataTemplate dt is not moved"},
			{check: OwnerChain, sev: SeverityError, name: "dt", msg: "no owner chain"},
			{check: OwnerChain, sev: SeverityError, name: "ud", msg: "user-data"},
		})
		require.Contains(t, got[1].Hint, "label the HostUpdatePolicy CRD clusterctl.cluster.x-k8s.io/move=")
		require.Contains(t, got[3].Hint, "label the Metal3DataTemplate CRD clusterctl.cluster.x-k8s.io/move=")
	})
	t.Run("clusterctl refused", func(t *testing.T) {
		s := base()
		s.PlanErr = errors.New("cannot start operation while the following Clusters are paused: ns/c")
		requireFindings(t, checkOwnerChain(s), []want{{check: OwnerChain, sev: SeverityWarning, name: "ns", msg: "Clusters are paused"}})
	})
}
