package webhook_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pivotcheck/pivotcheck/webhook"
)

// config/target renders with the standalone kustomize (so `kubectl apply
// -k config/target` works) and wires the guard the way the code expects.
func TestTargetBundleRenders(t *testing.T) {
	out, err := exec.Command(kustomizeBin(t), "build", "../config/target").CombinedOutput()
	require.NoError(t, err, string(out))
	byKind := map[string][]unstructured.Unstructured{}
	for _, u := range splitDocs(t, out) {
		byKind[u.GetKind()] = append(byKind[u.GetKind()], u)
		switch u.GetKind() {
		case "ValidatingWebhookConfiguration", "Namespace", "ClusterRole", "ClusterRoleBinding":
		default:
			require.Equal(t, "pivotcheck-target-system", u.GetNamespace(), "%s %s", u.GetKind(), u.GetName())
		}
	}
	for k, n := range map[string]int{"Namespace": 1, "ServiceAccount": 1, "Service": 2, "Deployment": 1, "PodDisruptionBudget": 1,
		"Issuer": 2, "Certificate": 2, "ValidatingWebhookConfiguration": 1, "NetworkPolicy": 2} {
		require.Len(t, byKind[k], n, k)
	}
	// The guard reads nothing: its bindings are the metrics one
	// (TokenReviews and SubjectAccessReviews, checked below) and its own,
	// SubjectAccessReviews only (bypass checks); plus the bypass role,
	// bound to nobody.
	require.Empty(t, byKind["Role"])
	require.Empty(t, byKind["RoleBinding"])
	require.Len(t, byKind["ClusterRole"], 4)
	require.Len(t, byKind["ClusterRoleBinding"], 2)
	guardRole := convert[rbacv1.ClusterRole](t, byName(t, byKind, "ClusterRole", "pivotcheck-target-guard"))
	require.Equal(t, []rbacv1.PolicyRule{{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}}}, guardRole.Rules)
	bound := map[string]bool{}
	for _, u := range byKind["ClusterRoleBinding"] {
		bound[u.Object["roleRef"].(map[string]any)["name"].(string)] = true
	}
	require.Equal(t, map[string]bool{"pivotcheck-target-metrics-auth-role": true, "pivotcheck-target-guard": true}, bound)

	vwc := convert[admissionregistrationv1.ValidatingWebhookConfiguration](t, byKind["ValidatingWebhookConfiguration"][0])
	require.Equal(t, "pivotcheck-target", vwc.Name, "not the bootstrap webhook's name: both may live in one cluster")
	cert := byName(t, byKind, "Certificate", "pivotcheck-target-serving-cert")
	ca := byName(t, byKind, "Certificate", "pivotcheck-target-ca")
	require.Equal(t, ca.GetNamespace()+"/"+ca.GetName(), vwc.Annotations["cert-manager.io/inject-ca-from"])
	svc := convert[corev1.Service](t, byName(t, byKind, "Service", "pivotcheck-target-guard"))
	require.Len(t, vwc.Webhooks, 1)
	w := vwc.Webhooks[0]
	require.Equal(t, "target-host.pivotcheck.dev", w.Name)
	require.Equal(t, admissionregistrationv1.Fail, *w.FailurePolicy)
	require.Equal(t, admissionregistrationv1.SideEffectClassNone, *w.SideEffects)
	require.Equal(t, int32(5), *w.TimeoutSeconds)
	require.Equal(t, webhook.TargetPath, *w.ClientConfig.Service.Path)
	require.Equal(t, svc.Name, w.ClientConfig.Service.Name)
	require.Equal(t, svc.Namespace, w.ClientConfig.Service.Namespace)
	require.Len(t, w.Rules, 1)
	require.Equal(t, []admissionregistrationv1.OperationType{admissionregistrationv1.Create}, w.Rules[0].Operations)
	require.Equal(t, []string{"baremetalhosts"}, w.Rules[0].Resources)
	require.Equal(t, []string{"metal3.io"}, w.Rules[0].APIGroups)
	sel := w.NamespaceSelector.MatchExpressions
	require.Contains(t, sel[0].Values, "kube-system")
	require.Contains(t, sel[0].Values, svc.Namespace, "the guard's own namespace is excluded")
	require.Equal(t, webhook.BypassNamespaceLabel, sel[1].Key)
	// The bypass annotation is judged by the guard (permission check), so
	// no matchCondition skips it.
	require.Empty(t, w.MatchConditions)

	dep := convert[appsv1.Deployment](t, byKind["Deployment"][0])
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	require.Equal(t, "webhook", c.Args[0])
	require.Contains(t, c.Args, "--mode=target")
	require.Equal(t, byKind["ServiceAccount"][0].GetName(), pod.ServiceAccountName)
	require.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	require.True(t, *pod.SecurityContext.RunAsNonRoot)
	require.Equal(t, cert.Object["spec"].(map[string]any)["secretName"], pod.Volumes[0].Secret.SecretName)
	for _, name := range cert.Object["spec"].(map[string]any)["dnsNames"].([]any) {
		require.True(t, strings.HasPrefix(name.(string), svc.Name+"."+svc.Namespace+".svc") ||
			strings.HasPrefix(name.(string), "pivotcheck-target-guard-metrics-service."+svc.Namespace+".svc"), name)
	}
	requireSecureMetrics(t, byKind, dep, "pivotcheck-target-guard-metrics-service", "pivotcheck-target-metrics-auth-role", "pivotcheck-target-metrics-reader")
}
