package preflight

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/fixture"
	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/podenv"
)

// ---- builders ----

func crd(group, kind string, labels map[string]string, versions ...string) apiextensionsv1.CustomResourceDefinition {
	if len(versions) == 0 {
		versions = []string{"v1beta2"}
	}
	c := apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: strings.ToLower(kind) + "s." + group, Labels: labels},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: kind},
		},
	}
	for i, v := range versions {
		c.Spec.Versions = append(c.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{Name: v, Served: true, Storage: i == 0})
	}
	return c
}

var (
	lblCtl  = map[string]string{labelClusterctl: ""}
	lblHost = map[string]string{labelClusterctl: "", labelMove: "", labelMoveHierarchy: ""}
	lblHW   = map[string]string{labelClusterctl: "", labelMove: ""}
)

func goodCRDs() []apiextensionsv1.CustomResourceDefinition {
	return []apiextensionsv1.CustomResourceDefinition{
		crd("cluster.x-k8s.io", "Cluster", lblCtl),
		crd("infrastructure.cluster.x-k8s.io", "Metal3Machine", lblCtl),
		crd("metal3.io", "BareMetalHost", lblHost, "v1alpha1"),
		crd("metal3.io", "HardwareData", lblHW, "v1alpha1"),
		crd("metal3.io", "HostFirmwareSettings", lblHW, "v1alpha1"),
		// BMO rebuilds these in the target: never required.
		crd("metal3.io", "PreprovisioningImage", nil, "v1alpha1"),
	}
}

func withGeneration(o metav1.PartialObjectMetadata, g int64) metav1.PartialObjectMetadata {
	o.Generation = g
	return o
}

// withCRD returns the good CRDs with the one of kind replaced by c.
func withCRD(c apiextensionsv1.CustomResourceDefinition) []apiextensionsv1.CustomResourceDefinition {
	var out []apiextensionsv1.CustomResourceDefinition
	for _, g := range goodCRDs() {
		if g.Spec.Names.Kind != c.Spec.Names.Kind {
			out = append(out, g)
		}
	}
	return append(out, c)
}

func obj(apiVersion, kind, name string, owners ...metav1.OwnerReference) metav1.PartialObjectMetadata {
	o := metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(kind + "/" + name), OwnerReferences: owners}}
	o.SetGroupVersionKind(schema.FromAPIVersionAndKind(apiVersion, kind))
	return o
}

func owner(kind, name string) metav1.OwnerReference {
	return metav1.OwnerReference{Kind: kind, Name: name, UID: types.UID(kind + "/" + name)}
}

func host(name string, state bmov1alpha1.ProvisioningState, consumed bool, ann map[string]string) bmov1alpha1.BareMetalHost {
	h := bmov1alpha1.BareMetalHost{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Annotations: ann}}
	h.Status.Provisioning.State = state
	h.Status.OperationalStatus = bmov1alpha1.OperationalStatusOK
	h.Spec.BMC.CredentialsName = name + "-bmc"
	if consumed {
		h.Spec.ConsumerRef = &corev1.ObjectReference{Kind: "Metal3Machine", Name: name}
	}
	return h
}

func provider(name, typ, v string) clusterctlv1.Provider {
	return clusterctlv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: "capi", Name: name}, ProviderName: name, Type: typ, Version: v}
}

func bmoDeploy(tag string, avail bool) appsv1.Deployment {
	d := appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "baremetal-operator-system", Name: bmo.DeploymentName}}
	d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "manager", Image: "quay.io/metal3-io/baremetal-operator:" + tag}}
	st := corev1.ConditionFalse
	if avail {
		st = corev1.ConditionTrue
	}
	d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: st}}
	return d
}

func webhook(policy admissionregistrationv1.FailurePolicyType) admissionregistrationv1.ValidatingWebhookConfiguration {
	return admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "bmo"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "bmh", FailurePolicy: &policy, Rules: []admissionregistrationv1.RuleWithOperations{{
			Rule: admissionregistrationv1.Rule{APIGroups: []string{"metal3.io"}, Resources: []string{"baremetalhosts"}},
		}}}},
	}
}

type want struct {
	check string
	sev   Severity
	name  string // object name
	msg   string // substring of the message
}

func requireFindings(t *testing.T, got []Finding, wants []want) {
	t.Helper()
	require.Len(t, got, len(wants), "findings: %+v", got)
	for i, w := range wants {
		require.Equal(t, w.check, got[i].Check, got[i].Message)
		require.Equal(t, w.sev, got[i].Severity, got[i].Message)
		require.Equal(t, w.name, got[i].Object.Name, got[i].Message)
		require.Contains(t, got[i].Message, w.msg)
		require.NotEmpty(t, got[i].Hint)
	}
}

// ---- 1 ----

func TestCheckCRDs(t *testing.T) {
	hostObj := obj("metal3.io/v1alpha1", "BareMetalHost", "h0")
	cases := []struct {
		name     string
		src, dst []apiextensionsv1.CustomResourceDefinition
		objs     []metav1.PartialObjectMetadata
		want     []want
	}{
		{"clean", goodCRDs(), goodCRDs(), []metav1.PartialObjectMetadata{hostObj}, nil},
		{"host without move-hierarchy in the source", withCRD(crd("metal3.io", "BareMetalHost", lblHW, "v1alpha1")), goodCRDs(),
			[]metav1.PartialObjectMetadata{hostObj},
			[]want{{CRDLabelsSource, SeverityError, "baremetalhosts.metal3.io", "lacks label clusterctl.cluster.x-k8s.io/move-hierarchy: clusterctl move leaves the 1 BareMetalHost"}}},
		{"unlabelled kind with no objects is a warning", append(goodCRDs(), crd("cluster.x-k8s.io", "MachinePool", nil)), goodCRDs(), nil,
			[]want{{CRDLabelsSource, SeverityWarning, "machinepools.cluster.x-k8s.io", "no MachinePool objects now"}}},
		{"target unlabelled", goodCRDs(), append(goodCRDs()[1:], crd("cluster.x-k8s.io", "Cluster", nil)), nil,
			[]want{{CRDLabelsTarget, SeverityWarning, "clusters.cluster.x-k8s.io", "move back"}}},
		{"provider label on a BMO CRD", withCRD(crd("metal3.io", "BareMetalHost", map[string]string{labelClusterctl: "", labelMoveHierarchy: "", labelProvider: "infrastructure-metal3"}, "v1alpha1")), goodCRDs(), nil,
			[]want{{CRDProviderLabel, SeverityWarning, "baremetalhosts.metal3.io", "in the source carries cluster.x-k8s.io/provider=infrastructure-metal3"}}},
		{"target misses BMH and Metal3Machine", goodCRDs(), []apiextensionsv1.CustomResourceDefinition{goodCRDs()[0], goodCRDs()[3], goodCRDs()[4]}, nil,
			[]want{{CRDTargetMissing, SeverityError, "metal3machines.infrastructure.cluster.x-k8s.io", "no CRD"}, {CRDTargetMissing, SeverityError, "baremetalhosts.metal3.io", "no CRD"}}},
		{"target does not serve the storage version", goodCRDs(), withCRD(crd("infrastructure.cluster.x-k8s.io", "Metal3Machine", lblCtl, "v1beta1")), nil,
			[]want{{CRDTargetVersion, SeverityError, "metal3machines.infrastructure.cluster.x-k8s.io", "does not serve v1beta2"}}},
		// Every BMO kind that holds user intent must move with its host.
		{"HostFirmwareSettings unlabelled, as BMO created them", withCRD(crd("metal3.io", "HostFirmwareSettings", nil, "v1alpha1")), goodCRDs(),
			[]metav1.PartialObjectMetadata{hostObj, withGeneration(obj("metal3.io/v1alpha1", "HostFirmwareSettings", "h0"), 1)},
			[]want{{CRDLabelsSource, SeverityWarning, "hostfirmwaresettingss.metal3.io", "none was edited since (generation 1)"}}},
		{"HostFirmwareSettings unlabelled, one edited", withCRD(crd("metal3.io", "HostFirmwareSettings", nil, "v1alpha1")), goodCRDs(),
			[]metav1.PartialObjectMetadata{hostObj, withGeneration(obj("metal3.io/v1alpha1", "HostFirmwareSettings", "h0"), 3),
				withGeneration(obj("metal3.io/v1alpha1", "HostFirmwareSettings", "h1"), 1)},
			[]want{{CRDLabelsSource, SeverityError, "hostfirmwaresettingss.metal3.io", "leaves the 2 HostFirmwareSettings objects of namespace ns behind, 1 of them edited"}}},
		{"HostUpdatePolicy with clusterctl but no move label", append(goodCRDs(), crd("metal3.io", "HostUpdatePolicy", lblCtl, "v1alpha1")), append(goodCRDs(), crd("metal3.io", "HostUpdatePolicy", lblHW, "v1alpha1")),
			[]metav1.PartialObjectMetadata{hostObj, obj("metal3.io/v1alpha1", "HostUpdatePolicy", "h0")},
			[]want{{CRDLabelsSource, SeverityError, "hostupdatepolicys.metal3.io", "lacks label clusterctl.cluster.x-k8s.io/move: clusterctl move leaves the 1 HostUpdatePolicy"}}},
		{"a metal3.io kind this release does not know", append(goodCRDs(), crd("metal3.io", "HostFuturePolicy", nil, "v1alpha1")), append(goodCRDs(), crd("metal3.io", "HostFuturePolicy", lblHW, "v1alpha1")),
			[]metav1.PartialObjectMetadata{hostObj, obj("metal3.io/v1alpha1", "HostFuturePolicy", "p")},
			[]want{{CRDLabelsSource, SeverityError, "hostfuturepolicys.metal3.io", "leaves the 1 HostFuturePolicy"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{Namespace: "ns", Source: Side{CRDs: tc.src, Objects: tc.objs}, Target: Side{CRDs: tc.dst}}
			requireFindings(t, checkCRDs(s), tc.want)
		})
	}
}

// ---- 2 ----

func TestCheckProviders(t *testing.T) {
	core := provider("cluster-api", "CoreProvider", "v1.13.6")
	cases := []struct {
		name     string
		src, dst []clusterctlv1.Provider
		want     []want
	}{
		{"same", []clusterctlv1.Provider{core}, []clusterctlv1.Provider{core}, nil},
		{"newer target", []clusterctlv1.Provider{core}, []clusterctlv1.Provider{provider("cluster-api", "CoreProvider", "v1.14.0")}, nil},
		{"empty source inventory", nil, nil, nil},
		{"older target", []clusterctlv1.Provider{core}, []clusterctlv1.Provider{provider("cluster-api", "CoreProvider", "v1.12.1")},
			[]want{{ProviderInventory, SeverityError, "cluster-api", "v1.12.1 in the target but v1.13.6 in the source"}}},
		{"missing", []clusterctlv1.Provider{core, provider("metal3", "InfrastructureProvider", "v1.13.2")}, []clusterctlv1.Provider{core, provider("metal3", "IPAMProvider", "v1.13.2")},
			[]want{{ProviderInventory, SeverityError, "metal3", "InfrastructureProvider metal3 (v1.13.2) is not installed in the target"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{Source: Side{Providers: tc.src}, Target: Side{Providers: tc.dst}}
			requireFindings(t, checkProviders(s), tc.want)
		})
	}
}

func TestCheckBMO(t *testing.T) {
	ok := Side{Deployments: []appsv1.Deployment{bmoDeploy("v0.13.2", true)}, Webhooks: []admissionregistrationv1.ValidatingWebhookConfiguration{webhook(admissionregistrationv1.Fail)}}
	cases := []struct {
		name     string
		src, dst Side
		want     []want
	}{
		{"clean", ok, ok, nil},
		{"target without BMO", ok, Side{Webhooks: ok.Webhooks},
			[]want{{BMOTarget, SeverityError, bmo.DeploymentName, "runs no baremetal-operator"}}},
		{"target BMO unavailable", ok, Side{Deployments: []appsv1.Deployment{bmoDeploy("v0.13.2", false)}, Webhooks: ok.Webhooks},
			[]want{{BMOTarget, SeverityError, bmo.DeploymentName, "not Available"}}},
		{"target without webhook", ok, Side{Deployments: ok.Deployments},
			[]want{{BMOWebhookTarget, SeverityWarning, "", "no validating webhook"}}},
		{"older target", ok, Side{Deployments: []appsv1.Deployment{bmoDeploy("v0.12.3", true)}, Webhooks: ok.Webhooks},
			[]want{{BMOVersion, SeverityError, bmo.DeploymentName, "v0.12.3 but v0.13.2"}}},
		{"release branch tags compare", Side{Deployments: []appsv1.Deployment{bmoDeploy("release-0.12", true)}}, Side{Deployments: []appsv1.Deployment{bmoDeploy("release-0.13", true)}, Webhooks: ok.Webhooks}, nil},
		{"unreadable tag", ok, Side{Deployments: []appsv1.Deployment{bmoDeploy("latest", true)}, Webhooks: ok.Webhooks},
			[]want{{BMOVersion, SeverityWarning, bmo.DeploymentName, "cannot compare"}}},
		{"source webhook without BMO", Side{Webhooks: ok.Webhooks}, ok,
			[]want{{BMOSource, SeverityError, "bmo", "no available baremetal-operator answers it"}}},
		{"source webhook Ignore without BMO is fine", Side{Webhooks: []admissionregistrationv1.ValidatingWebhookConfiguration{webhook(admissionregistrationv1.Ignore)}}, ok, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireFindings(t, checkBMO(&Snapshot{Source: tc.src, Target: tc.dst}), tc.want)
		})
	}
}

// ---- 3 ----

func provisionedCluster(name string) clusterv1.Cluster {
	c := clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
	c.Spec.ControlPlaneRef = clusterv1.ContractVersionedObjectReference{APIGroup: "controlplane.cluster.x-k8s.io", Kind: "KubeadmControlPlane", Name: name}
	c.Status.Initialization.InfrastructureProvisioned = ptr.To(true)
	c.Status.Initialization.ControlPlaneInitialized = ptr.To(true)
	c.Status.Conditions = []metav1.Condition{{Type: clusterv1.ClusterControlPlaneInitializedCondition, Status: metav1.ConditionTrue}}
	return c
}

func runningMachine(name string) clusterv1.Machine {
	m := clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
	m.Status.NodeRef = clusterv1.MachineNodeReference{Name: name}
	return m
}

func TestCheckClusters(t *testing.T) {
	now := metav1.Now()
	cases := []struct {
		name   string
		mutate func(s *Side)
		want   []want
	}{
		{"clean", func(*Side) {}, nil},
		{"no cluster", func(s *Side) { s.Clusters = nil }, []want{{NoClusters, SeverityWarning, "ns", "holds no Cluster"}}},
		{"no namespace", func(s *Side) { s.NamespaceExists, s.Clusters, s.Machines = false, nil, nil },
			[]want{{NoClusters, SeverityError, "ns", "does not exist in the source"}}},
		{"paused", func(s *Side) { s.Clusters[0].Spec.Paused = ptr.To(true) }, []want{{ClusterPaused, SeverityError, "c", "spec.paused"}}},
		{"paused annotation", func(s *Side) { s.Clusters[0].Annotations = map[string]string{clusterv1.PausedAnnotation: ""} },
			[]want{{ClusterPaused, SeverityError, "c", "cluster.x-k8s.io/paused"}}},
		{"infrastructure", func(s *Side) { s.Clusters[0].Status.Initialization.InfrastructureProvisioned = nil },
			[]want{{ClusterProvision, SeverityError, "c", "infrastructureProvisioned"}}},
		{"control plane condition", func(s *Side) { s.Clusters[0].Status.Conditions = nil },
			[]want{{ClusterProvision, SeverityError, "c", "ControlPlaneInitialized"}}},
		{"control plane initialization", func(s *Side) { s.Clusters[0].Status.Initialization.ControlPlaneInitialized = nil },
			[]want{{ClusterProvision, SeverityError, "c", "controlPlaneInitialized"}}},
		{"no node", func(s *Side) { s.Machines[0].Status.NodeRef = clusterv1.MachineNodeReference{} },
			[]want{{MachineNodeRef, SeverityError, "m0", "no status.nodeRef"}}},
		{"machine deleting", func(s *Side) { s.Machines[0].DeletionTimestamp = &now },
			[]want{{MachineDeleting, SeverityError, "m0", "being deleted"}}},
		{"MHC remediation", func(s *Side) {
			s.Machines[0].Status.Conditions = []metav1.Condition{{Type: clusterv1.MachineOwnerRemediatedCondition, Status: metav1.ConditionFalse, Reason: "WaitingForRemediation"}}
		}, []want{{Remediation, SeverityError, "m0", "WaitingForRemediation"}}},
		{"manual remediation", func(s *Side) { s.Machines[0].Annotations = map[string]string{clusterv1.RemediateMachineAnnotation: ""} },
			[]want{{Remediation, SeverityError, "m0", "remediate-machine"}}},
		{"paused ClusterClass", func(s *Side) {
			cc := obj("cluster.x-k8s.io/v1beta2", "ClusterClass", "cc")
			cc.Annotations = map[string]string{clusterv1.PausedAnnotation: ""}
			s.Objects = append(s.Objects, cc)
		}, []want{{ClusterPaused, SeverityError, "cc", "ClusterClass ns/cc"}}},
		{"KCP remediation", func(s *Side) {
			s.ControlPlanes = []controlplanev1.KubeadmControlPlane{{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c",
				Annotations: map[string]string{controlplanev1.RemediationInProgressAnnotation: "{}"}}}}
		}, []want{{Remediation, SeverityError, "c", "control plane remediation"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{Namespace: "ns", Source: Side{NamespaceExists: true, Clusters: []clusterv1.Cluster{provisionedCluster("c")}, Machines: []clusterv1.Machine{runningMachine("m0")}}}
			tc.mutate(&s.Source)
			requireFindings(t, checkClusters(s), tc.want)
		})
	}
}

// ---- 4 & 5 ----

func TestCheckHosts(t *testing.T) {
	now := metav1.Now()
	cases := []struct {
		name string
		h    bmov1alpha1.BareMetalHost
		want []want
	}{
		{"provisioned with status annotation", host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: "{}", bmov1alpha1.PausedAnnotation: "metal3.io/capm3"}), nil},
		{"consumed without annotation is info", host("h", bmov1alpha1.StateProvisioned, true, nil), []want{{StatusMissing, SeverityInfo, "h", "CAPM3 writes it"}}},
		{"paused by CAPM3 without status is an error", host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.PausedAnnotation: "metal3.io/capm3"}),
			[]want{{StatusMissing, SeverityError, "h", "nobody will write now"}}},
		{"inspecting", host("h", bmov1alpha1.StateInspecting, false, nil), []want{{HostInProgress, SeverityError, "h", "is inspecting"}}},
		{"reboot", host("h", bmov1alpha1.StateAvailable, false, map[string]string{"reboot.metal3.io": ""}), []want{{HostPendingReboot, SeverityError, "h", "pending reboot"}}},
		{"reinspect", host("h", bmov1alpha1.StateAvailable, false, map[string]string{"inspect.metal3.io": ""}), []want{{HostReinspect, SeverityError, "h", "re-inspection"}}},
		{"user paused", host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.PausedAnnotation: "ops"}), []want{{HostForeignPause, SeverityError, "h", `paused by "ops"`}}},
		{"powered-on spare", func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateAvailable, false, nil)
			h.Status.PoweredOn = true
			return h
		}(), []want{{HostPoweredOn, SeverityWarning, "h", "powered on"}}},
		{"servicing", func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: "{}"})
			h.Status.OperationalStatus = bmov1alpha1.OperationalStatusServicing
			return h
		}(), []want{{HostBusy, SeverityError, "h", "servicing"}}},
		{"error", func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateAvailable, false, nil)
			h.Status.OperationalStatus, h.Status.ErrorType = bmov1alpha1.OperationalStatusError, bmov1alpha1.RegistrationError
			return h
		}(), []want{{HostError, SeverityError, "h", "registration error"}}},
		{"deleting", func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateAvailable, false, nil)
			h.DeletionTimestamp = &now
			return h
		}(), []want{{HostDeleting, SeverityError, "h", "being deleted"}}},
		{"detached", func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateAvailable, false, nil)
			h.Status.OperationalStatus = bmov1alpha1.OperationalStatusDetached
			return h
		}(), []want{{HostDetached, SeverityInfo, "h", "detached"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireFindings(t, checkHosts(&Snapshot{Source: Side{Hosts: []bmov1alpha1.BareMetalHost{tc.h}}}), tc.want)
		})
	}
}

func TestCheckStatusAnnotations(t *testing.T) {
	good, err := fixture.StatusAnnotationJSON(bmov1alpha1.BareMetalHostStatus{OperationalStatus: bmov1alpha1.OperationalStatusOK,
		Provisioning: bmov1alpha1.ProvisionStatus{State: bmov1alpha1.StateProvisioned, ID: "x"}})
	require.NoError(t, err)
	withConditions := strings.Replace(good, "{", `{"conditions":[],`, 1)
	cases := []struct {
		name   string
		h      bmov1alpha1.BareMetalHost
		target string
		want   []want
	}{
		{"valid", host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: good}), "v0.13.2", nil},
		{"consumed without annotation: CAPM3 writes it", host("h", bmov1alpha1.StateProvisioned, true, nil), "v0.13.2", nil},
		{"spare without annotation", host("h", bmov1alpha1.StateAvailable, false, nil), "v0.13.2",
			[]want{{StatusMissing, SeverityWarning, "h", "`pivotcheck move` writes it"}}},
		{"unknown field", host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: strings.Replace(good, "{", `{"notAField":1,`, 1)}), "v0.13.2",
			[]want{{StatusInvalid, SeverityError, "h", `unknown field "notAField"`}}},
		{"paused by CAPM3 without status: reported by the host check", host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.PausedAnnotation: "metal3.io/capm3"}), "v0.13.2", nil},
		{"not JSON", host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: "{"}), "v0.13.2",
			[]want{{StatusInvalid, SeverityError, "h", "does not parse"}}},
		{"servicing", host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: strings.Replace(good, `"OK"`, `"servicing"`, 1)}), "v0.13.2",
			[]want{{StatusInvalid, SeverityError, "h", `operationalStatus "servicing"`}}},
		{"servicing error type", host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: strings.Replace(good, "{", `{"errorType":"servicing error",`, 1)}), "v0.13.2",
			[]want{{StatusInvalid, SeverityError, "h", `errorType "servicing error"`}}},
		{"conditions for an older target BMO", host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: withConditions}), "v0.12.1",
			[]want{{StatusInvalid, SeverityError, "h", "carries conditions"}}},
		{"conditions for a 0.13 target", host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: withConditions}), "v0.13.0", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{Source: Side{Hosts: []bmov1alpha1.BareMetalHost{tc.h}}, Target: Side{Deployments: []appsv1.Deployment{bmoDeploy(tc.target, true)}}}
			requireFindings(t, checkStatusAnnotations(s), tc.want)
		})
	}
}

// CAPM3 1.14's block-move annotation, explained.
func TestCheckBlockMove(t *testing.T) {
	bm := map[string]string{blockMoveAnnotation: ""}
	capm3 := appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "capm3-system", Name: "capm3-controller-manager"}}
	capm3.Spec.Template.Spec.Containers = []corev1.Container{{Name: "manager", Image: "quay.io/metal3-io/cluster-api-provider-metal3:v1.14.0"}}
	capm3.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}}
	hostObjs := func(hosts ...bmov1alpha1.BareMetalHost) []metav1.PartialObjectMetadata {
		var out []metav1.PartialObjectMetadata
		for _, h := range hosts {
			o := obj("metal3.io/v1alpha1", "BareMetalHost", h.Name)
			o.Annotations = h.Annotations
			out = append(out, o)
		}
		return out
	}
	unpaused := host("h0", bmov1alpha1.StateProvisioned, true, map[string]string{blockMoveAnnotation: ""})
	early := host("h1", bmov1alpha1.StateProvisioned, true, map[string]string{blockMoveAnnotation: "", bmov1alpha1.PausedAnnotation: "pivotcheck.dev/move"})
	spare := host("h2", bmov1alpha1.StateAvailable, false, map[string]string{blockMoveAnnotation: ""})
	other := obj("infrastructure.cluster.x-k8s.io/v1beta2", "Metal3Machine", "m0")
	other.Annotations = bm
	cases := []struct {
		name  string
		hosts []bmov1alpha1.BareMetalHost
		extra []metav1.PartialObjectMetadata
		deps  []appsv1.Deployment
		want  []want
		msg   []string
	}{
		{name: "none", hosts: []bmov1alpha1.BareMetalHost{host("h0", bmov1alpha1.StateProvisioned, true, nil)}, deps: []appsv1.Deployment{capm3}},
		{name: "CAPM3 1.14 running", hosts: []bmov1alpha1.BareMetalHost{unpaused, early}, deps: []appsv1.Deployment{capm3},
			want: []want{{BlockMove, SeverityInfo, "ns", "2 consumed BareMetalHost(s) carry clusterctl.cluster.x-k8s.io/block-move"}},
			msg:  []string{"h0; h1 (paused by \"pivotcheck.dev/move\")", "1 of them are paused already", "once the move pauses the Cluster"}},
		{name: "no CAPM3 to remove it", hosts: []bmov1alpha1.BareMetalHost{unpaused}, deps: nil,
			want: []want{{BlockMove, SeverityError, "ns", "no CAPM3 controller runs in the source"}}},
		{name: "CAPM3 not available", hosts: []bmov1alpha1.BareMetalHost{unpaused}, deps: []appsv1.Deployment{func() appsv1.Deployment {
			d := capm3.DeepCopy()
			d.Status.Conditions = nil
			return *d
		}()}, want: []want{{BlockMove, SeverityError, "ns", "would wait about 6 minutes and fail"}}},
		{name: "on a spare host and another object", hosts: []bmov1alpha1.BareMetalHost{spare}, extra: []metav1.PartialObjectMetadata{other}, deps: []appsv1.Deployment{capm3},
			want: []want{{BlockMove, SeverityWarning, "h2", "something else blocks the move"}, {BlockMove, SeverityWarning, "m0", "Metal3Machine ns/m0"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{Namespace: "ns", Source: Side{Hosts: tc.hosts, Objects: append(hostObjs(tc.hosts...), tc.extra...), Deployments: tc.deps}}
			got := checkBlockMove(s)
			requireFindings(t, got, tc.want)
			for _, m := range tc.msg {
				require.Contains(t, got[0].Message, m)
			}
		})
	}
}

// ---- 6 ----

func ironicSide(replicas int32, keepalived bool, ip string) Side {
	d := *fixture.IronicDeployment(replicas, keepalived)
	return Side{
		Deployments: []appsv1.Deployment{d},
		ConfigMaps: []corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Namespace: fixture.BMONamespace, Name: fixture.IronicConfigMap},
			Data: map[string]string{"PROVISIONING_IP": ip, "PROVISIONING_INTERFACE": "ironicendpoint"}}},
	}
}

func TestCheckIronic(t *testing.T) {
	cases := []struct {
		name     string
		src, dst Side
		probe    *Probe
		want     []want
	}{
		{"stopped source, running target", ironicSide(0, true, "172.22.0.2"), ironicSide(1, true, "172.22.0.2"), nil, nil},
		{"source still runs", ironicSide(1, true, "172.22.0.2"), ironicSide(1, true, "172.22.0.2"), nil,
			[]want{{IronicSource, SeverityError, fixture.IronicName, "Ironic still runs in the source"}}},
		{"no target Ironic", ironicSide(0, true, "172.22.0.2"), ironicSide(0, true, "172.22.0.2"), nil,
			[]want{{IronicTarget, SeverityError, fixture.IronicName, "no Ironic runs"}}},
		{"no keepalived", ironicSide(0, true, "172.22.0.2"), ironicSide(1, false, "172.22.0.2"), nil,
			[]want{{KeepalivedTarget, SeverityError, fixture.IronicName, "no keepalived container"}}},
		{"incomplete settings", ironicSide(0, true, "172.22.0.2"), ironicSide(1, true, ""), nil,
			[]want{{KeepalivedTarget, SeverityError, fixture.IronicName, "neither PROVISIONING_IP"}}},
		{"different VIP", ironicSide(0, true, "172.22.0.2"), ironicSide(1, true, "172.22.0.9"), nil,
			[]want{{KeepalivedVIP, SeverityError, fixture.IronicName, "PROVISIONING_IP=172.22.0.9"}}},
		{"source from its ConfigMap only", Side{ConfigMaps: ironicSide(0, true, "172.22.0.2").ConfigMaps}, ironicSide(1, true, "172.22.0.2"), nil, nil},
		{"source unknown", Side{}, ironicSide(1, true, "172.22.0.2"), nil,
			[]want{{KeepalivedVIP, SeverityWarning, fixture.IronicName, "could not be read"}}},
		{"probe 401", ironicSide(0, true, "172.22.0.2"), ironicSide(1, true, "172.22.0.2"), &Probe{URL: "u", Status: 401}, nil},
		{"probe 500", ironicSide(0, true, "172.22.0.2"), ironicSide(1, true, "172.22.0.2"), &Probe{URL: "u", Status: 500},
			[]want{{IronicAPI, SeverityError, "u", "HTTP 500"}}},
		{"probe refused", ironicSide(0, true, "172.22.0.2"), ironicSide(1, true, "172.22.0.2"), &Probe{URL: "u", Err: errors.New("connection refused")},
			[]want{{IronicAPI, SeverityError, "u", "connection refused"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{IronicWorkloads: ironic.DefaultWorkloads, Source: tc.src, Target: tc.dst, IronicProbe: tc.probe}
			requireFindings(t, checkIronic(s), tc.want)
		})
	}
}

func TestContainerEnvPrecedence(t *testing.T) {
	c := corev1.Container{
		EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}},
		Env: []corev1.EnvVar{{Name: "PROVISIONING_IP", Value: "10.0.0.1"},
			{Name: "KEEPALIVED_VIRTUAL_IPS", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "VIPS"}}}},
	}
	cms := []corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Namespace: "n", Name: "cm"}, Data: map[string]string{"PROVISIONING_IP": "10.0.0.2", "PROVISIONING_INTERFACE": "eth1", "VIPS": "10.0.0.1,eth1"}}}
	env := podenv.Resolve(c, "n", cms)
	require.Equal(t, vip{IP: "10.0.0.1", Interface: "eth1", VirtualIPs: "10.0.0.1,eth1"}, vipOf(env))
	require.Empty(t, podenv.Resolve(c, "other", cms)["PROVISIONING_INTERFACE"])
}

// ---- 7 ----

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
			{OwnerChain, SeverityError, "dt-0", "its owner Metal3DataTemplate dt is not moved"},
			{OwnerChain, SeverityError, "dt", "no owner chain"},
			{OwnerChain, SeverityError, "ud", "the user-data Secret of BareMetalHost h0"},
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
		requireFindings(t, checkOwnerChain(s), []want{{OwnerChain, SeverityError, "ud", "user-data"}})
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
			{OwnerChain, SeverityError, "p", "HostFuturePolicy ns/p (a HostFuturePolicy) would be left behind"},
			{OwnerChain, SeverityError, "h0", "HostUpdatePolicy ns/h0 (a HostUpdatePolicy) would be left behind by clusterctl move: it has no owner chain"},
			{OwnerChain, SeverityError, "dt-0", "its owner Metal3DataTemplate dt is not moved"},
			{OwnerChain, SeverityError, "dt", "no owner chain"},
			{OwnerChain, SeverityError, "ud", "user-data"},
		})
		require.Contains(t, got[1].Hint, "label the HostUpdatePolicy CRD clusterctl.cluster.x-k8s.io/move=")
		require.Contains(t, got[3].Hint, "label the Metal3DataTemplate CRD clusterctl.cluster.x-k8s.io/move=")
	})
	t.Run("clusterctl refused", func(t *testing.T) {
		s := base()
		s.PlanErr = errors.New("cannot start operation while the following Clusters are paused: ns/c")
		requireFindings(t, checkOwnerChain(s), []want{{OwnerChain, SeverityWarning, "ns", "Clusters are paused"}})
	})
}

// ---- 8, 9, report ----

func TestCheckTargetNamespace(t *testing.T) {
	s := &Snapshot{Namespace: "ns", Plan: []mover.Object{{Kind: "Cluster", Namespace: "ns", Name: "c"}}}
	requireFindings(t, checkTargetNamespace(s), []want{{TargetNamespace, SeverityInfo, "ns", "clusterctl move creates it"}})
	s.Target.NamespaceExists = true
	s.Target.Objects = []metav1.PartialObjectMetadata{obj("cluster.x-k8s.io/v1beta2", "Cluster", "c"), obj("cluster.x-k8s.io/v1beta2", "Cluster", "other")}
	requireFindings(t, checkTargetNamespace(s), []want{
		{TargetNamespace, SeverityInfo, "ns", "exists"},
		{TargetCollision, SeverityWarning, "c", "1 Cluster object(s)"},
	})
}

func TestCheckManual(t *testing.T) {
	s := &Snapshot{IronicWorkloads: ironic.DefaultWorkloads, Target: ironicSide(1, true, "172.22.0.2")}
	requireFindings(t, checkManual(s), []want{{ManualChecks, SeverityInfo, "", "interface ironicendpoint has a static IP"}})
}

func TestBuildSkipsAndRenders(t *testing.T) {
	s := &Snapshot{Namespace: "ns", IronicWorkloads: ironic.DefaultWorkloads, Source: ironicSide(1, true, "172.22.0.2"), Target: ironicSide(1, true, "172.22.0.2")}
	s.Source.NamespaceExists = true
	r := Build(s, nil)
	require.False(t, r.Ready)
	r = Build(s, []string{IronicSource, BMOTarget})
	require.True(t, r.Ready, "%+v", r.Findings)
	require.NotContains(t, r.Checks, IronicSource)

	var b strings.Builder
	require.NoError(t, WriteTable(&b, r, false))
	out := b.String()
	require.Contains(t, out, "✔ crd-labels-source")
	require.Contains(t, out, "⚠ bmo-webhook-target")
	require.Contains(t, out, "READY: 0 error(s)")
	require.NotContains(t, out, "\x1b[")
	b.Reset()
	require.NoError(t, WriteTable(&b, Build(s, nil), true))
	require.Contains(t, b.String(), "\x1b[31m✖\x1b[0m ironic-source-running")
	require.Contains(t, b.String(), "NOT READY")
	b.Reset()
	require.NoError(t, WriteYAML(&b, r))
	require.Contains(t, b.String(), "ready: true")
	require.Contains(t, b.String(), "findings:")
}

func TestTableCapsLines(t *testing.T) {
	r := &Report{Namespace: "ns", Checks: []string{HostInProgress, StatusMissing}}
	for i := 0; i < 60; i++ {
		r.Findings = append(r.Findings, Finding{Check: HostInProgress, Severity: SeverityError, Message: "e"},
			Finding{Check: StatusMissing, Severity: SeverityWarning, Message: "w"})
	}
	var b strings.Builder
	require.NoError(t, WriteTable(&b, r, false))
	require.Contains(t, b.String(), "✖ host-in-progress (60 error(s))")
	require.Contains(t, b.String(), "... and 10 more finding(s)")
	require.Contains(t, b.String(), "... and 50 more finding(s)")
	require.Equal(t, 50+10, strings.Count(b.String(), "    error   e")+strings.Count(b.String(), "    warning w"))
}

func TestCatalogIDsAreKebabAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Catalog {
		require.Regexp(t, `^[a-z0-9]+(-[a-z0-9]+)*$`, c.ID)
		require.False(t, seen[c.ID], c.ID)
		seen[c.ID] = true
		require.NotEmpty(t, c.Meaning)
		require.NotEmpty(t, c.Fix)
	}
}

// bmoWithEndpoint is a BMO Deployment whose manager sends Ironic calls to ep.
func bmoWithEndpoint(ep string) appsv1.Deployment {
	d := bmoDeploy("v0.13.2", true)
	d.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "IRONIC_ENDPOINT", Value: ep}}
	return d
}

func TestCheckIronicExternal(t *testing.T) {
	const ep = "https://172.22.0.2:6385/v1/"
	stopped := ironicSide(0, true, "172.22.0.2")
	withBMO := func(s Side, d appsv1.Deployment) Side {
		s.Deployments = append(append([]appsv1.Deployment(nil), s.Deployments...), d)
		return s
	}
	answered := &ironic.ProbeResult{URL: "https://172.22.0.2:6385/v1/nodes", Status: 401}
	silent := &ironic.ProbeResult{URL: "https://172.22.0.2:6385/v1/nodes", Err: errors.New("connection refused")}
	cases := []struct {
		name     string
		src, dst Side
		probe    *ironic.ProbeResult
		want     []want
	}{
		{"Ironic runs in the source: the running check reports it", ironicSide(1, true, "172.22.0.2"), Side{}, nil, nil},
		{"none in the source: endpoint named", withBMO(stopped, bmoWithEndpoint(ep)), Side{}, nil,
			[]want{{IronicExternal, SeverityWarning, bmo.DeploymentName, "sends its Ironic calls to " + ep}}},
		{"no endpoint configured", withBMO(stopped, bmoDeploy("v0.13.2", true)), Side{}, nil,
			[]want{{IronicExternal, SeverityWarning, bmo.DeploymentName, "sets neither IRONIC_ENDPOINT nor IRONIC_NAME"}}},
		{"no BMO at all", stopped, Side{}, nil,
			[]want{{IronicExternal, SeverityWarning, bmo.DeploymentName, "no BMO Deployment there"}}},
		{"probe answered, endpoint only the source's: error", withBMO(stopped, bmoWithEndpoint(ep)), withBMO(Side{}, bmoWithEndpoint("https://10.0.0.5:6385")), answered,
			[]want{{IronicExternal, SeverityError, bmo.DeploymentName, "answered HTTP 401: an Ironic runs there"}}},
		{"probe answered, the target uses the same endpoint", withBMO(stopped, bmoWithEndpoint(ep)), withBMO(Side{}, bmoWithEndpoint(ep)), answered,
			[]want{{IronicExternal, SeverityWarning, bmo.DeploymentName, "may be the target's Ironic"}}},
		{"probe silent", withBMO(stopped, bmoWithEndpoint(ep)), Side{}, silent,
			[]want{{IronicExternal, SeverityWarning, bmo.DeploymentName, "got no answer within 3s"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{IronicWorkloads: ironic.DefaultWorkloads, Source: tc.src, Target: tc.dst, SourceIronicProbe: tc.probe}
			requireFindings(t, checkIronicExternal(s), tc.want)
		})
	}
}

// TestProbeSourceIronic probes the endpoint named in the source BMO's
// environment: a local server answering 401 is evidence, a closed port is not.
func TestProbeSourceIronic(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	src := ironicSide(0, true, "172.22.0.2")
	src.Deployments = append(src.Deployments, bmoWithEndpoint(srv.URL+"/v1/"))
	s := &Snapshot{IronicWorkloads: ironic.DefaultWorkloads, Source: src}
	p := probeSourceIronic(context.Background(), s)
	require.NotNil(t, p)
	require.True(t, p.Answered(), p.String())
	require.Equal(t, 401, p.Status)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "https://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	s.Source.Deployments[len(s.Source.Deployments)-1] = bmoWithEndpoint(closed)
	p = probeSourceIronic(context.Background(), s)
	require.NotNil(t, p)
	require.False(t, p.Answered(), p.String())

	// Ironic running in the source, or an IrSO reference instead of a URL: no probe.
	s.Source = ironicSide(1, true, "172.22.0.2")
	require.Nil(t, probeSourceIronic(context.Background(), s))
}
