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
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/pivotcheck/pivotcheck/internal/testenv"
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

// The bundle renders with the standalone kustomize (so `kubectl apply -k
// config/webhook` works) and holds what the issue asks for.
func TestBundleRenders(t *testing.T) {
	out, err := exec.Command(kustomizeBin(t), "build", "../config/webhook").CombinedOutput()
	require.NoError(t, err, string(out))
	// config/default is the one-command install: the same objects.
	def, err := exec.Command(kustomizeBin(t), "build", "../config/default").CombinedOutput()
	require.NoError(t, err, string(def))
	require.Equal(t, string(out), string(def))
	byKind := map[string][]unstructured.Unstructured{}
	for _, u := range splitDocs(t, out) {
		byKind[u.GetKind()] = append(byKind[u.GetKind()], u)
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Service", "Deployment",
		"PodDisruptionBudget", "Issuer", "Certificate", "ValidatingWebhookConfiguration"} {
		require.Len(t, byKind[k], 1, k)
	}

	vwc := convert[admissionregistrationv1.ValidatingWebhookConfiguration](t, byKind["ValidatingWebhookConfiguration"][0])
	cert := byKind["Certificate"][0]
	require.Equal(t, cert.GetNamespace()+"/"+cert.GetName(), vwc.Annotations["cert-manager.io/inject-ca-from"])
	svc := convert[corev1.Service](t, byKind["Service"][0])
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

	role := convert[rbacv1.ClusterRole](t, byKind["ClusterRole"][0])
	for _, r := range role.Rules {
		require.Equal(t, []string{"get", "list", "watch"}, r.Verbs, "read-only RBAC: %v", r)
		require.NotContains(t, strings.Join(r.Resources, ","), "*")
	}
}
