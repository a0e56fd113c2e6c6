package webhook_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/webhook"
)

const manifestsPath = "../config/webhook/manifests.yaml"

// kustomizeBin finds the standalone kustomize `make tools` installs.
func kustomizeBin(t *testing.T) string {
	if p, err := exec.LookPath("kustomize"); err == nil {
		return p
	}
	dir, err := testenv.AssetsDir()
	if err == nil {
		// AssetsDir is <cache>/k8s/<version>; tools live in <cache>/bin.
		p := filepath.Join(dir, "..", "..", "bin", "kustomize")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "pivotcheck", "bin", "kustomize")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if testing.Short() {
		t.Skip("kustomize not installed (make tools)")
	}
	t.Fatal("kustomize not found: run `make tools`")
	return ""
}

func splitDocs(t testing.TB, data []byte) []unstructured.Unstructured {
	var out []unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if err != nil {
			break
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		u := unstructured.Unstructured{}
		require.NoError(t, yaml.Unmarshal(doc, &u.Object))
		out = append(out, u)
	}
	return out
}

func convert[T any](t testing.TB, u unstructured.Unstructured) *T {
	raw, err := yaml.Marshal(u.Object)
	require.NoError(t, err)
	var out T
	require.NoError(t, yaml.UnmarshalStrict(raw, &out))
	return &out
}

// byName returns the rendered object of kind and name.
func byName(t testing.TB, objs map[string][]unstructured.Unstructured, kind, name string) unstructured.Unstructured {
	t.Helper()
	for _, u := range objs[kind] {
		if u.GetName() == name {
			return u
		}
	}
	t.Fatalf("no %s %s in the rendered bundle", kind, name)
	return unstructured.Unstructured{}
}

// The bundle renders with the standalone kustomize (so `kubectl apply -k
// config/default` works) and holds what the issue asks for.
func TestBundleRenders(t *testing.T) {
	out, err := exec.Command(kustomizeBin(t), "build", "../config/default").CombinedOutput()
	require.NoError(t, err, string(out))
	byKind := map[string][]unstructured.Unstructured{}
	for _, u := range splitDocs(t, out) {
		byKind[u.GetKind()] = append(byKind[u.GetKind()], u)
	}
	for k, n := range map[string]int{"Namespace": 1, "ServiceAccount": 1, "ClusterRole": 4, "ClusterRoleBinding": 2, "Service": 2, "Deployment": 1,
		"PodDisruptionBudget": 1, "Issuer": 2, "Certificate": 2, "ValidatingWebhookConfiguration": 1, "NetworkPolicy": 2} {
		require.Len(t, byKind[k], n, k)
	}
	require.Empty(t, byKind["ServiceMonitor"], "the ServiceMonitor is optional (config/prometheus): not every cluster has the Prometheus Operator")

	vwc := convert[admissionregistrationv1.ValidatingWebhookConfiguration](t, byKind["ValidatingWebhookConfiguration"][0])
	cert := byName(t, byKind, "Certificate", "pivotcheck-serving-cert")
	ca := byName(t, byKind, "Certificate", "pivotcheck-ca")
	require.Equal(t, ca.GetNamespace()+"/"+ca.GetName(), vwc.Annotations["cert-manager.io/inject-ca-from"])
	svc := convert[corev1.Service](t, byName(t, byKind, "Service", "pivotcheck-webhook"))
	require.Len(t, vwc.Webhooks, 2)
	paths := map[string]bool{}
	for _, w := range vwc.Webhooks {
		require.Equal(t, admissionregistrationv1.Fail, *w.FailurePolicy, w.Name)
		require.Equal(t, admissionregistrationv1.SideEffectClassNone, *w.SideEffects, w.Name)
		require.Equal(t, int32(5), *w.TimeoutSeconds, w.Name)
		require.Equal(t, []string{"v1"}, w.AdmissionReviewVersions, w.Name)
		require.Equal(t, svc.Name, w.ClientConfig.Service.Name)
		require.Equal(t, svc.Namespace, w.ClientConfig.Service.Namespace)
		require.NotEmpty(t, w.MatchConditions, w.Name)
		paths[*w.ClientConfig.Service.Path] = true
		sel := w.NamespaceSelector.MatchExpressions
		require.Contains(t, sel[0].Values, "kube-system")
		require.Contains(t, sel[0].Values, svc.Namespace, "the webhook's own namespace is excluded")
		require.Equal(t, webhook.BypassNamespaceLabel, sel[1].Key)
		for _, r := range w.Rules {
			require.NotContains(t, r.Operations, admissionregistrationv1.Create)
			require.NotContains(t, r.Resources, "*/*")
		}
	}
	require.Equal(t, map[string]bool{webhook.PausePath: true, webhook.DeleteForMovePath: true}, paths)

	dep := convert[appsv1.Deployment](t, byKind["Deployment"][0])
	require.Equal(t, int32(2), *dep.Spec.Replicas)
	pod := dep.Spec.Template.Spec
	require.True(t, *pod.SecurityContext.RunAsNonRoot)
	require.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, pod.SecurityContext.SeccompProfile.Type)
	c := pod.Containers[0]
	require.Equal(t, "pivotcheck:dev", c.Image)
	require.Equal(t, "webhook", c.Args[0])
	require.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	require.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	require.NotNil(t, c.Resources.Requests.Cpu())
	require.False(t, c.Resources.Limits.Memory().IsZero())
	require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	require.Equal(t, ptr.To("pivotcheck-webhook-server-cert"), ptr.To(pod.Volumes[0].Secret.SecretName))
	require.Equal(t, cert.Object["spec"].(map[string]any)["secretName"], pod.Volumes[0].Secret.SecretName)

	role := convert[rbacv1.ClusterRole](t, byName(t, byKind, "ClusterRole", "pivotcheck-webhook"))
	for _, r := range role.Rules {
		require.NotContains(t, strings.Join(r.Resources, ","), "*")
		if strings.Join(r.Resources, ",") == "subjectaccessreviews" {
			// Its only write: the review of a bypass attempt.
			require.Equal(t, []string{"authorization.k8s.io"}, r.APIGroups)
			require.Equal(t, []string{"create"}, r.Verbs)
			continue
		}
		require.Equal(t, []string{"get", "list", "watch"}, r.Verbs, "read-only RBAC: %v", r)
	}
	requireSecureMetrics(t, byKind, dep, "pivotcheck-webhook-metrics-service", "pivotcheck-metrics-auth-role", "pivotcheck-metrics-reader")
}

// requireSecureMetrics checks the kubebuilder v4 metrics wiring of a
// rendered bundle: HTTPS on 8443 (the flag's default is secure), a Service
// on that port, the Deployment's ServiceAccount bound to the role for
// TokenReviews and SubjectAccessReviews and nothing else new, a reader
// role for scrapers, and NetworkPolicies that open the webhook port to all
// and the metrics port to namespaces labelled metrics=enabled.
func requireSecureMetrics(t *testing.T, byKind map[string][]unstructured.Unstructured, dep *appsv1.Deployment, service, authRole, readerRole string) {
	t.Helper()
	c := dep.Spec.Template.Spec.Containers[0]
	require.Contains(t, c.Args, "--metrics-bind-address=:8443")
	require.NotContains(t, c.Args, "--metrics-secure=false")
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	require.Equal(t, int32(8443), ports["metrics"])

	svc := convert[corev1.Service](t, byName(t, byKind, "Service", service))
	require.Equal(t, dep.Spec.Selector.MatchLabels, svc.Spec.Selector)
	require.Len(t, svc.Spec.Ports, 1)
	require.Equal(t, "https", svc.Spec.Ports[0].Name, "the ServiceMonitor's port name")
	require.Equal(t, int32(8443), svc.Spec.Ports[0].Port)
	require.Equal(t, "metrics", svc.Spec.Ports[0].TargetPort.String())

	auth := convert[rbacv1.ClusterRole](t, byName(t, byKind, "ClusterRole", authRole))
	require.Equal(t, []rbacv1.PolicyRule{
		{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
		{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
	}, auth.Rules)
	bound := false
	for _, u := range byKind["ClusterRoleBinding"] {
		b := convert[rbacv1.ClusterRoleBinding](t, u)
		if b.RoleRef.Name != authRole {
			continue
		}
		bound = true
		require.Equal(t, []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: dep.Spec.Template.Spec.ServiceAccountName, Namespace: dep.Namespace}}, b.Subjects)
	}
	require.True(t, bound, "%s is bound to the Deployment's ServiceAccount", authRole)
	reader := convert[rbacv1.ClusterRole](t, byName(t, byKind, "ClusterRole", readerRole))
	require.Equal(t, []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}, reader.Rules)

	open := map[string]string{}
	for _, u := range byKind["NetworkPolicy"] {
		np := convert[networkingv1.NetworkPolicy](t, u)
		require.Equal(t, dep.Spec.Selector.MatchLabels, np.Spec.PodSelector.MatchLabels, np.Name)
		require.Equal(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, np.Spec.PolicyTypes, np.Name)
		for _, in := range np.Spec.Ingress {
			from := "anywhere"
			if len(in.From) > 0 {
				require.Len(t, in.From, 1, np.Name)
				from = metav1.FormatLabelSelector(in.From[0].NamespaceSelector)
			}
			for _, p := range in.Ports {
				open[p.Port.String()] = from
			}
		}
	}
	require.Equal(t, map[string]string{"webhook-server": "anywhere", "metrics": "metrics=enabled"}, open)
	for name := range open {
		_, ok := ports[name]
		require.True(t, ok, "NetworkPolicy port %s is a container port", name)
	}
}
