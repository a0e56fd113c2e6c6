package webhook_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// renderInNamespace builds an overlay of the bundle dir in a temporary
// folder that moves it to namespace ns and runs the bundle's replacements
// again, as the bundles' READMEs tell users to, and returns the objects by
// kind together with the raw output.
func renderInNamespace(t *testing.T, dir, ns string) (map[string][]unstructured.Unstructured, string) {
	t.Helper()
	bundle, err := filepath.Abs(dir)
	require.NoError(t, err)
	overlay := t.TempDir()
	// kustomize refuses absolute paths to other kustomizations.
	rel, err := filepath.Rel(overlay, bundle)
	require.NoError(t, err)
	kustomization := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
		"namespace: " + ns + "\n" +
		"resources:\n- " + filepath.ToSlash(rel) + "\n" +
		"transformers:\n- " + filepath.ToSlash(filepath.Join(rel, "replacements")) + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(kustomization), 0o600))
	out, err := exec.Command(kustomizeBin(t), "build", overlay).CombinedOutput()
	require.NoError(t, err, string(out))
	byKind := map[string][]unstructured.Unstructured{}
	for _, u := range splitDocs(t, out) {
		byKind[u.GetKind()] = append(byKind[u.GetKind()], u)
	}
	return byKind, string(out)
}

// An overlay that puts a bundle into another namespace keeps TLS and the
// webhook wiring intact: the CA injection, the certificate's DNS names and
// Secret, the webhook's Service reference and namespaceSelector, and the
// RBAC subjects all follow the namespace; the default namespace is left
// nowhere.
func TestBundlesFollowNamespace(t *testing.T) {
	const ns = "other-ns"
	for _, tc := range []struct {
		dir, defaultNS, vwc, service, cert, ca, serviceAccount string
	}{
		{dir: "../config/default", defaultNS: "pivotcheck-system", vwc: "pivotcheck", service: "pivotcheck-webhook", cert: "pivotcheck-serving-cert", ca: "pivotcheck-ca", serviceAccount: "pivotcheck-webhook"},
		{dir: "../config/target", defaultNS: "pivotcheck-target-system", vwc: "pivotcheck-target", service: "pivotcheck-target-guard", cert: "pivotcheck-target-serving-cert", ca: "pivotcheck-target-ca", serviceAccount: "pivotcheck-target-guard"},
	} {
		t.Run(filepath.Base(tc.dir), func(t *testing.T) {
			byKind, raw := renderInNamespace(t, tc.dir, ns)
			require.NotContains(t, raw, tc.defaultNS, "the default namespace is left somewhere")

			require.Len(t, byKind["Namespace"], 1)
			require.Equal(t, ns, byKind["Namespace"][0].GetName())
			for kind, objs := range byKind {
				for _, u := range objs {
					switch kind {
					case "Namespace", "ValidatingWebhookConfiguration", "ClusterRole", "ClusterRoleBinding":
					default:
						require.Equal(t, ns, u.GetNamespace(), "%s %s", kind, u.GetName())
					}
				}
			}

			svc := convert[corev1.Service](t, byName(t, byKind, "Service", tc.service))
			require.Equal(t, ns, svc.Namespace)
			cert := byName(t, byKind, "Certificate", tc.cert)
			dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
			require.Equal(t, []string{tc.service + "." + ns + ".svc", tc.service + "." + ns + ".svc.cluster.local"}, dnsNames[:2])
			secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
			require.NotEmpty(t, secretName)

			vwc := convert[admissionregistrationv1.ValidatingWebhookConfiguration](t, byName(t, byKind, "ValidatingWebhookConfiguration", tc.vwc))
			require.Equal(t, ns+"/"+tc.ca, vwc.Annotations["cert-manager.io/inject-ca-from"])
			for _, w := range vwc.Webhooks {
				require.Equal(t, svc.Name, w.ClientConfig.Service.Name, w.Name)
				require.Equal(t, ns, w.ClientConfig.Service.Namespace, w.Name)
				sel := w.NamespaceSelector.MatchExpressions[0]
				require.Equal(t, "kubernetes.io/metadata.name", sel.Key)
				require.Equal(t, []string{"kube-system", ns}, sel.Values, "%s: the webhook's own namespace stays excluded", w.Name)
			}

			dep := convert[appsv1.Deployment](t, byKind["Deployment"][0])
			require.Equal(t, secretName, dep.Spec.Template.Spec.Volumes[0].Secret.SecretName, "the Deployment mounts the Certificate's Secret")
			require.Equal(t, tc.serviceAccount, dep.Spec.Template.Spec.ServiceAccountName)
			for _, u := range byKind["ClusterRoleBinding"] {
				b := convert[rbacv1.ClusterRoleBinding](t, u)
				for _, s := range b.Subjects {
					require.Equal(t, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: tc.serviceAccount, Namespace: ns}, s, b.Name)
				}
			}
		})
	}
}
