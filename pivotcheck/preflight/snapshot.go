package preflight

import (
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// Snapshot is everything the checks look at: each type listed once per
// cluster. Secrets are kept as metadata only, so BMC credentials never enter
// the snapshot, let alone an output.
type Snapshot struct {
	Namespace       string
	IronicWorkloads []ironic.Workload
	Source, Target  Side
	// Plan is clusterctl's dry-run object list; PlanErr is set when
	// clusterctl refused the dry run (for example a paused Cluster).
	Plan    []mover.Object
	PlanErr error
	// IronicProbe is the outcome of --ironic-url (nil when not asked).
	IronicProbe *Probe
	// SourceIronicProbe is the probe of the source BMO's Ironic endpoint
	// (--probe-source-ironic; nil when not asked or no URL to probe).
	SourceIronicProbe *ironic.ProbeResult
}

// Probe is the answer of Ironic's API (internal/ironic's probe, shared
// with `pivotcheck move --ironic-url`).
type Probe = ironic.ProbeResult

// Side holds one cluster's listed objects.
type Side struct {
	// Identity is the cluster's identity (the kube-system Namespace's UID).
	Identity  kube.Identity
	CRDs      []apiextensionsv1.CustomResourceDefinition
	Providers []clusterctlv1.Provider
	// Cluster-wide workloads (Ironic, BMO) and the ConfigMaps their envFrom reads.
	Deployments []appsv1.Deployment
	DaemonSets  []appsv1.DaemonSet
	Pods        []corev1.Pod
	IrSO        []unstructured.Unstructured
	ConfigMaps  []corev1.ConfigMap
	Webhooks    []admissionregistrationv1.ValidatingWebhookConfiguration

	// NamespaceExists says whether the moved namespace exists.
	NamespaceExists bool
	// NamespaceLabels are the moved namespace's labels.
	NamespaceLabels map[string]string
	// In the moved namespace (source; the target has only Objects):
	Clusters      []clusterv1.Cluster
	Machines      []clusterv1.Machine
	ControlPlanes []controlplanev1.KubeadmControlPlane
	Hosts         []bmov1alpha1.BareMetalHost
	// Objects is the metadata of every object of a kind that matters for the
	// move (CAPI, CAPM3, IPAM, BMH, HardwareData, Secrets, ConfigMaps).
	Objects []metav1.PartialObjectMetadata
}

func (s *Side) ironicObjects() ironic.Objects {
	return ironic.Objects{Deployments: s.Deployments, DaemonSets: s.DaemonSets, Pods: s.Pods, IrSO: s.IrSO}
}
