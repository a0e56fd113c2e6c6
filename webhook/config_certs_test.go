package webhook_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pivotcheck/pivotcheck/webhook"
)

// requireCAChain checks the cert-manager chain of a rendered bundle:
// self-signed Issuer -> CA Certificate (isCA) -> CA Issuer (its Secret) ->
// serving Certificate; the webhook configuration's CA is injected from the
// CA Certificate, so a renewal of the serving certificate leaves caBundle
// alone; the serving certificate names the webhook and metrics Services,
// and the Deployment serves both with it. It returns the CA Secret's name.
func requireCAChain(t *testing.T, byKind map[string][]unstructured.Unstructured, vwcName, caCert, servingCert, webhookSvc, metricsSvc string) string {
	t.Helper()
	str := func(u unstructured.Unstructured, path ...string) string {
		v, _, _ := unstructured.NestedString(u.Object, path...)
		return v
	}
	ca := byName(t, byKind, "Certificate", caCert)
	isCA, _, _ := unstructured.NestedBool(ca.Object, "spec", "isCA")
	require.True(t, isCA, "%s is a CA", caCert)
	require.Equal(t, "Never", str(ca, "spec", "privateKey", "rotationPolicy"), "a renewed CA keeps its key, so certificates it signed before still verify")
	selfSigned := byName(t, byKind, "Issuer", str(ca, "spec", "issuerRef", "name"))
	_, ok, _ := unstructured.NestedMap(selfSigned.Object, "spec", "selfSigned")
	require.True(t, ok, "the CA is signed by the self-signed Issuer")
	caSecret := str(ca, "spec", "secretName")
	require.NotEmpty(t, caSecret)

	serving := byName(t, byKind, "Certificate", servingCert)
	isCA, _, _ = unstructured.NestedBool(serving.Object, "spec", "isCA")
	require.False(t, isCA)
	caIssuer := byName(t, byKind, "Issuer", str(serving, "spec", "issuerRef", "name"))
	require.Equal(t, caSecret, str(caIssuer, "spec", "ca", "secretName"), "the serving certificate is signed by the CA Issuer of the CA Certificate's Secret")
	require.NotEqual(t, selfSigned.GetName(), caIssuer.GetName(), "the serving certificate is not self-signed")

	vwc := convert[admissionregistrationv1.ValidatingWebhookConfiguration](t, byName(t, byKind, "ValidatingWebhookConfiguration", vwcName))
	require.Equal(t, ca.GetNamespace()+"/"+ca.GetName(), vwc.Annotations["cert-manager.io/inject-ca-from"], "caBundle comes from the CA, stable across serving-certificate renewals")

	ns := serving.GetNamespace()
	dnsNames, _, _ := unstructured.NestedStringSlice(serving.Object, "spec", "dnsNames")
	require.Equal(t, []string{
		webhookSvc + "." + ns + ".svc", webhookSvc + "." + ns + ".svc.cluster.local",
		metricsSvc + "." + ns + ".svc", metricsSvc + "." + ns + ".svc.cluster.local",
	}, dnsNames)

	dep := convert[appsv1.Deployment](t, byKind["Deployment"][0])
	pod := dep.Spec.Template.Spec
	require.Equal(t, str(serving, "spec", "secretName"), pod.Volumes[0].Secret.SecretName)
	mount := pod.Containers[0].VolumeMounts[0]
	require.Equal(t, pod.Volumes[0].Name, mount.Name)
	require.Contains(t, pod.Containers[0].Args, "--cert-dir="+mount.MountPath)
	require.Contains(t, pod.Containers[0].Args, "--metrics-cert-path="+mount.MountPath, "metrics are served with the verifiable serving certificate")
	return caSecret
}

// requireBypassRBAC: the bundle ships the bypass ClusterRole (exactly the
// permission the webhook reviews, bound to nobody), and the webhook's
// identity may create SubjectAccessReviews.
func requireBypassRBAC(t *testing.T, byKind map[string][]unstructured.Unstructured, bypassRole, sa string) {
	t.Helper()
	role := convert[rbacv1.ClusterRole](t, byName(t, byKind, "ClusterRole", bypassRole))
	require.Equal(t, []rbacv1.PolicyRule{{APIGroups: []string{webhook.BypassGroup}, Resources: []string{webhook.BypassResource}, Verbs: []string{webhook.BypassVerb}}}, role.Rules)
	canReview := false
	for _, u := range byKind["ClusterRoleBinding"] {
		b := convert[rbacv1.ClusterRoleBinding](t, u)
		require.NotEqual(t, bypassRole, b.RoleRef.Name, "the bundle binds the bypass role to nobody")
		if len(b.Subjects) != 1 || b.Subjects[0].Name != sa {
			continue
		}
		r := convert[rbacv1.ClusterRole](t, byName(t, byKind, "ClusterRole", b.RoleRef.Name))
		for _, rule := range r.Rules {
			if strings.Join(rule.APIGroups, ",") == "authorization.k8s.io" && strings.Join(rule.Resources, ",") == "subjectaccessreviews" && strings.Join(rule.Verbs, ",") == "create" {
				canReview = true
			}
		}
	}
	require.True(t, canReview, "%s may create subjectaccessreviews", sa)
	for _, u := range byKind["ValidatingWebhookConfiguration"] {
		vwc := convert[admissionregistrationv1.ValidatingWebhookConfiguration](t, u)
		for _, w := range vwc.Webhooks {
			for _, mc := range w.MatchConditions {
				require.NotContains(t, mc.Expression, webhook.BypassAnnotation, "%s: the bypass is judged by the webhook, not a matchCondition", w.Name)
			}
		}
	}
}

func TestBundlesCAChainAndBypassRBAC(t *testing.T) {
	for _, tc := range []struct {
		dir, vwc, ca, serving, svc, metricsSvc, bypassRole, sa string
	}{
		{"../config/default", "pivotcheck", "pivotcheck-ca", "pivotcheck-serving-cert", "pivotcheck-webhook", "pivotcheck-webhook-metrics-service", webhook.BypassClusterRole, "pivotcheck-webhook"},
		{"../config/target", "pivotcheck-target", "pivotcheck-target-ca", "pivotcheck-target-serving-cert", "pivotcheck-target-guard", "pivotcheck-target-guard-metrics-service", webhook.TargetBypassClusterRole, "pivotcheck-target-guard"},
	} {
		t.Run(filepath.Base(tc.dir), func(t *testing.T) {
			out, err := exec.Command(kustomizeBin(t), "build", tc.dir).CombinedOutput()
			require.NoError(t, err, string(out))
			byKind := map[string][]unstructured.Unstructured{}
			for _, u := range splitDocs(t, out) {
				byKind[u.GetKind()] = append(byKind[u.GetKind()], u)
			}
			requireCAChain(t, byKind, tc.vwc, tc.ca, tc.serving, tc.svc, tc.metricsSvc)
			requireBypassRBAC(t, byKind, tc.bypassRole, tc.sa)

			// In another namespace, the chain follows.
			byKind, _ = renderInNamespace(t, tc.dir, "other-ns")
			requireCAChain(t, byKind, tc.vwc, tc.ca, tc.serving, tc.svc, tc.metricsSvc)
		})
	}
}

// The optional ServiceMonitor verifies the metrics certificate: the CA
// from the CA Certificate's Secret and the metrics Service's DNS name, no
// insecureSkipVerify; both follow an overlay's namespace.
func TestServiceMonitorVerifiesCertificate(t *testing.T) {
	for _, ns := range []string{"pivotcheck-system", "other-ns"} {
		t.Run(ns, func(t *testing.T) {
			bundle, err := filepath.Abs("../config")
			require.NoError(t, err)
			overlay := t.TempDir()
			rel, err := filepath.Rel(overlay, bundle)
			require.NoError(t, err)
			k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: " + ns + "\n" +
				"resources:\n- " + filepath.ToSlash(filepath.Join(rel, "default")) + "\n- " + filepath.ToSlash(filepath.Join(rel, "prometheus")) + "\n" +
				"transformers:\n- " + filepath.ToSlash(filepath.Join(rel, "default", "replacements")) + "\n"
			require.NoError(t, os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(k), 0o600))
			out, err := exec.Command(kustomizeBin(t), "build", overlay).CombinedOutput()
			require.NoError(t, err, string(out))
			require.NotContains(t, string(out), "insecureSkipVerify")
			byKind := map[string][]unstructured.Unstructured{}
			for _, u := range splitDocs(t, out) {
				byKind[u.GetKind()] = append(byKind[u.GetKind()], u)
			}
			caSecret := requireCAChain(t, byKind, "pivotcheck", "pivotcheck-ca", "pivotcheck-serving-cert", "pivotcheck-webhook", "pivotcheck-webhook-metrics-service")
			require.Len(t, byKind["ServiceMonitor"], 1)
			sm := byKind["ServiceMonitor"][0]
			require.Equal(t, ns, sm.GetNamespace(), "the CA Secret must be in the ServiceMonitor's namespace")
			eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
			require.Len(t, eps, 1)
			ep := eps[0].(map[string]any)
			require.Equal(t, "https", ep["scheme"])
			tlsCfg := ep["tlsConfig"].(map[string]any)
			require.Equal(t, "pivotcheck-webhook-metrics-service."+ns+".svc", tlsCfg["serverName"])
			require.Equal(t, map[string]any{"secret": map[string]any{"name": caSecret, "key": "ca.crt"}}, tlsCfg["ca"])
			_, skip := tlsCfg["insecureSkipVerify"]
			require.False(t, skip)
		})
	}
}
