package preflight

import (
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
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
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
