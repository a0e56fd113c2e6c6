package preflight

import (
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCheckCRDs(t *testing.T) {
	hostObj := obj("metal3.io/v1alpha1", "BareMetalHost", "h0")
	cases := []struct {
		name     string
		src, dst []apiextensionsv1.CustomResourceDefinition
		objs     []metav1.PartialObjectMetadata
		want     []want
	}{
		{name: "clean", src: goodCRDs(), dst: goodCRDs(), objs: []metav1.PartialObjectMetadata{hostObj}, want: nil},
		{name: "host without move-hierarchy in the source", src: withCRD(crd("metal3.io", "BareMetalHost", lblHW, "v1alpha1")), dst: goodCRDs(),
			objs: []metav1.PartialObjectMetadata{hostObj},
			want: []want{{check: CRDLabelsSource, sev: SeverityError, name: "baremetalhosts.metal3.io", msg: "lacks label clusterctl.cluster.x-k8s.io/move-hierarchy: clusterctl move leaves the 1 BareMetalHost"}}},
		{name: "unlabelled kind with no objects is a warning", src: append(goodCRDs(), crd("cluster.x-k8s.io", "MachinePool", nil)), dst: goodCRDs(), objs: nil,
			want: []want{{check: CRDLabelsSource, sev: SeverityWarning, name: "machinepools.cluster.x-k8s.io", msg: "no MachinePool objects now"}}},
		{name: "target unlabelled", src: goodCRDs(), dst: append(goodCRDs()[1:], crd("cluster.x-k8s.io", "Cluster", nil)), objs: nil,
			want: []want{{check: CRDLabelsTarget, sev: SeverityWarning, name: "clusters.cluster.x-k8s.io", msg: "move back"}}},
		{name: "provider label on a BMO CRD", src: withCRD(crd("metal3.io", "BareMetalHost", map[string]string{labelClusterctl: "", labelMoveHierarchy: "", labelProvider: "infrastructure-metal3"}, "v1alpha1")), dst: goodCRDs(), objs: nil,
			want: []want{{check: CRDProviderLabel, sev: SeverityWarning, name: "baremetalhosts.metal3.io", msg: "in the source carries cluster.x-k8s.io/provider=infrastructure-metal3"}}},
		{name: "target misses BMH and Metal3Machine", src: goodCRDs(), dst: []apiextensionsv1.CustomResourceDefinition{goodCRDs()[0], goodCRDs()[3], goodCRDs()[4]}, objs: nil,
			want: []want{{check: CRDTargetMissing, sev: SeverityError, name: "metal3machines.infrastructure.cluster.x-k8s.io", msg: "no CRD"}, {check: CRDTargetMissing, sev: SeverityError, name: "baremetalhosts.metal3.io", msg: "no CRD"}}},
		{name: "target does not serve the storage version", src: goodCRDs(), dst: withCRD(crd("infrastructure.cluster.x-k8s.io", "Metal3Machine", lblCtl, "v1beta1")), objs: nil,
			want: []want{{check: CRDTargetVersion, sev: SeverityError, name: "metal3machines.infrastructure.cluster.x-k8s.io", msg: "does not serve v1beta2"}}},
		// Every BMO kind that holds user intent must move with its host.
		{name: "HostFirmwareSettings unlabelled, as BMO created them", src: withCRD(crd("metal3.io", "HostFirmwareSettings", nil, "v1alpha1")), dst: goodCRDs(),
			objs: []metav1.PartialObjectMetadata{hostObj, withGeneration(obj("metal3.io/v1alpha1", "HostFirmwareSettings", "h0"), 1)},
			want: []want{{check: CRDLabelsSource, sev: SeverityWarning, name: "hostfirmwaresettingss.metal3.io", msg: "none was edited since (generation 1)"}}},
		{name: "HostFirmwareSettings unlabelled, one edited", src: withCRD(crd("metal3.io", "HostFirmwareSettings", nil, "v1alpha1")), dst: goodCRDs(),
			objs: []metav1.PartialObjectMetadata{hostObj, withGeneration(obj("metal3.io/v1alpha1", "HostFirmwareSettings", "h0"), 3),
				withGeneration(obj("metal3.io/v1alpha1", "HostFirmwareSettings", "h1"), 1)},
			want: []want{{check: CRDLabelsSource, sev: SeverityError, name: "hostfirmwaresettingss.metal3.io", msg: "leaves the 2 HostFirmwareSettings objects of namespace ns behind, 1 of them edited"}}},
		{name: "HostUpdatePolicy with clusterctl but no move label", src: append(goodCRDs(), crd("metal3.io", "HostUpdatePolicy", lblCtl, "v1alpha1")), dst: append(goodCRDs(), crd("metal3.io", "HostUpdatePolicy", lblHW, "v1alpha1")),
			objs: []metav1.PartialObjectMetadata{hostObj, obj("metal3.io/v1alpha1", "HostUpdatePolicy", "h0")},
			want: []want{{check: CRDLabelsSource, sev: SeverityError, name: "hostupdatepolicys.metal3.io", msg: "lacks label clusterctl.cluster.x-k8s.io/move: clusterctl move leaves the 1 HostUpdatePolicy"}}},
		{name: "a metal3.io kind this release does not know", src: append(goodCRDs(), crd("metal3.io", "HostFuturePolicy", nil, "v1alpha1")), dst: append(goodCRDs(), crd("metal3.io", "HostFuturePolicy", lblHW, "v1alpha1")),
			objs: []metav1.PartialObjectMetadata{hostObj, obj("metal3.io/v1alpha1", "HostFuturePolicy", "p")},
			want: []want{{check: CRDLabelsSource, sev: SeverityError, name: "hostfuturepolicys.metal3.io", msg: "leaves the 1 HostFuturePolicy"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{Namespace: "ns", Source: Side{CRDs: tc.src, Objects: tc.objs}, Target: Side{CRDs: tc.dst}}
			requireFindings(t, checkCRDs(s), tc.want)
		})
	}
}
