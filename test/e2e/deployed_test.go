package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/scenario"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

// TestLabWebhookAsDeployed runs the whole system as a user deploys it: the
// webhook bundle of config/default, rendered by the real kustomize, is
// applied to the bootstrap; its Deployment's pods run on a kwok node, and
// each pod's IP (loopback, from kwok's pod range) is served by a real
// `pivotcheck webhook` process, with the certificate of the bundle's
// Secret and the token of the bundle's ServiceAccount (so its RBAC is the
// bundle's). The API server calls the bundle's Service, at its ClusterIP;
// a kube-proxy STAND-IN (lab.ServiceProxy) forwards that to a ready pod.
// cert-manager is not in the lab either: a STAND-IN plays its two parts,
// issuing the Certificate's Secret and injecting its CA where
// `cert-manager.io/inject-ca-from` asks.
//
// Through that path the webhook refuses an unsafe pause, then a full
// `pivotcheck move` goes through it, and the webhook's own metrics show it
// judged the move's writes. The metrics are the bundle's secure ones:
// HTTPS, a request without a token refused, read with the token of a
// ServiceAccount bound to the bundle's metrics-reader role.
func TestLabWebhookAsDeployed(t *testing.T) {
	ctx := labTest(t)
	kustomize, err := exec.LookPath("kustomize")
	require.NoError(t, err, "kustomize is not on PATH: run `make tools` and the tests with `make test`")
	opts := fixture.Options{Namespace: "deployed", ClusterName: "lab6", ControlPlane: 1, Workers: 1, SpareHosts: 1}
	_, before := build(ctx, t, opts)
	src := pair.Bootstrap

	rendered, err := exec.CommandContext(ctx, kustomize, "build", "../../config/default").Output()
	require.NoError(t, err, "kustomize build config/default")
	objs := decodeAll(t, rendered)
	ca, err := lab.NewCA("cert-manager stand-in")
	require.NoError(t, err)
	applied := applyWithCertManagerStandIn(ctx, t, src.Client, objs, ca)
	t.Cleanup(func() {
		// Webhook configuration first: the rest of the shared pair's tests
		// must not meet a webhook whose server is gone.
		for _, a := range slices.Backward(applied) {
			if err := src.Client.Delete(context.Background(), a); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("removing %s %s: %v", a.GetKind(), a.GetName(), err)
			}
		}
	})
	dep := find(objs, "Deployment", "")
	require.NotNil(t, dep, "config/default has a Deployment")
	ns := dep.GetNamespace()
	require.NoError(t, scenario.WaitAvailable(ctx, src, ns, dep.GetName(), 90*time.Second))

	// One webhook process per pod, bound to the pod's IP, as the pods would run it.
	pods := &corev1.PodList{}
	require.NoError(t, src.Client.List(ctx, pods, client.InNamespace(ns)))
	require.NotEmpty(t, pods.Items)
	kubeconfig := serviceAccountKubeconfig(ctx, t, src, ns, "pivotcheck-webhook")
	secret := find(objs, "Certificate", "pivotcheck-serving-cert")
	require.NotNil(t, secret, "config/default has the serving Certificate")
	secretName, _, _ := unstructured.NestedString(secret.Object, "spec", "secretName")
	certDir := writeSecret(ctx, t, src.Client, ns, secretName)
	var metrics []string
	for _, pod := range pods.Items {
		require.Equal(t, corev1.PodRunning, pod.Status.Phase, pod.Name)
		ip := pod.Status.PodIP
		require.True(t, net.ParseIP(ip).IsLoopback(), "kwok gives pod %s the loopback IP %s", pod.Name, ip)
		args := append(webhookArgs(t, dep), "--kubeconfig", kubeconfig, "--cert-dir", certDir, "--metrics-cert-path", certDir, "--host", ip,
			"--metrics-bind-address", ip+":8443", "--health-probe-bind-address", ip+":8081")
		stop, err := src.Lab.Run(ctx, "webhook-"+pod.Name, pivotcheck, args, 60*time.Second, lab.HTTPReady("http://"+ip+":8081/readyz"))
		require.NoError(t, err)
		t.Cleanup(stop)
		metrics = append(metrics, "https://"+ip+":8443/metrics")
	}
	// The metrics are the bundle's secure ones: a request without a token
	// is refused, a ServiceAccount bound to the bundle's metrics-reader
	// role (as Prometheus's would be) reads them.
	require.NotNil(t, find(objs, "ClusterRole", "pivotcheck-metrics-reader"), "config/default has the metrics reader role")
	scraper := scraperToken(ctx, t, src, ns, "pivotcheck-metrics-reader")
	require.Eventually(t, func() bool {
		code, err := metricsStatus(metrics[0], "")
		return err == nil && code == http.StatusUnauthorized
	}, 30*time.Second, 100*time.Millisecond, "metrics without a token are refused with 401")
	// The API server resolves the webhook Service to its ClusterIP (on
	// loopback in the lab); the kube-proxy stand-in forwards it to the pods.
	svc := &corev1.Service{}
	require.NoError(t, src.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: find(objs, "Service", "pivotcheck-webhook").GetName()}, svc))
	require.True(t, net.ParseIP(svc.Spec.ClusterIP).IsLoopback(), "Service %s has the loopback ClusterIP %s", svc.Name, svc.Spec.ClusterIP)
	proxy, err := lab.ProxyServices(ctx, src.Client, ns)
	require.NoError(t, err, "the kube-proxy stand-in listens on the Service's ClusterIP and port (port 443 needs root or CAP_NET_BIND_SERVICE)")
	t.Cleanup(proxy.Stop)

	// Unsafe now: the bootstrap's Ironic runs. The pause is refused through the Service.
	cl := &clusterv1.Cluster{}
	cl.Namespace, cl.Name = opts.Namespace, opts.ClusterName
	err = src.Client.Patch(ctx, cl, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"paused":true}}`)), client.DryRunAll)
	require.Error(t, err)
	require.Contains(t, err.Error(), `admission webhook "pause.pivotcheck.dev" denied the request`)
	require.Contains(t, err.Error(), "Ironic still runs")

	// The move, with the webhook on.
	args := append([]string{"move"}, pivotcheckArgs(opts.Namespace)...)
	args = append(args, "--wait-for-hosts", "--host-timeout", "3m", "--backup-dir", filepath.Join(t.TempDir(), "backup"))
	out, code := run(ctx, t, pivotcheck, args...)
	require.Zero(t, code, out)
	after, err := scenario.HostStates(ctx, pair.Target.Client, opts.Namespace)
	require.NoError(t, err)
	require.Equal(t, before, after)

	allowed, denied := 0, 0
	for _, url := range metrics {
		a, d, err := readDecisionsAs(url, scraper)
		require.NoError(t, err)
		allowed += a
		denied += d
	}
	t.Logf("webhook decisions through the Service: %d allowed, %d denied", allowed, denied)
	require.GreaterOrEqual(t, denied, 1, "the early pause was refused by a webhook pod")
	require.GreaterOrEqual(t, allowed, 2, "the move's pause and its delete-for-move writes reached a webhook pod")
}

func decodeAll(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("decoding rendered manifests: %v", err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && (name == "" || o.GetName() == name) {
			return o
		}
	}
	return nil
}

// applyWithCertManagerStandIn creates the bundle's objects in order
// (namespaces first), except cert-manager's own kinds, which no controller
// here would act on. In their place it does cert-manager's work: each
// Certificate becomes its Secret, signed by ca, and objects annotated
// cert-manager.io/inject-ca-from get ca in every webhook's caBundle.
func applyWithCertManagerStandIn(ctx context.Context, t *testing.T, c client.Client, objs []*unstructured.Unstructured, ca *lab.CA) []*unstructured.Unstructured {
	t.Helper()
	var applied []*unstructured.Unstructured
	create := func(o *unstructured.Unstructured) {
		require.NoError(t, c.Create(ctx, o), "%s %s", o.GetKind(), o.GetName())
		applied = append(applied, o)
	}
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			create(o)
		}
	}
	for _, o := range objs {
		switch {
		case o.GetKind() == "Namespace":
		case o.GetAPIVersion() == "cert-manager.io/v1" && o.GetKind() == "Certificate" && isCA(o):
			// The bundle's CA Certificate: ca plays it, signing the serving
			// certificate below and injected as the caBundle.
		case o.GetAPIVersion() == "cert-manager.io/v1" && o.GetKind() == "Certificate":
			dns, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "dnsNames")
			secretName, _, _ := unstructured.NestedString(o.Object, "spec", "secretName")
			serving, err := ca.Issue(dns, nil)
			require.NoError(t, err)
			sec := &unstructured.Unstructured{}
			sec.SetAPIVersion("v1")
			sec.SetKind("Secret")
			sec.SetNamespace(o.GetNamespace())
			sec.SetName(secretName)
			sec.Object["type"] = string(corev1.SecretTypeTLS)
			sec.Object["stringData"] = map[string]any{"tls.crt": string(serving.CertPEM), "tls.key": string(serving.KeyPEM), "ca.crt": string(ca.CertPEM)}
			create(sec)
		case o.GetAPIVersion() == "cert-manager.io/v1":
			// Issuer: cert-manager's configuration, nothing for the stand-in to do.
		default:
			if o.GetAnnotations()["cert-manager.io/inject-ca-from"] != "" {
				webhooks, _, _ := unstructured.NestedSlice(o.Object, "webhooks")
				for i := range webhooks {
					w := webhooks[i].(map[string]any)
					cc := w["clientConfig"].(map[string]any)
					cc["caBundle"] = base64.StdEncoding.EncodeToString(ca.CertPEM)
				}
				require.NoError(t, unstructured.SetNestedSlice(o.Object, webhooks, "webhooks"))
			}
			create(o)
		}
	}
	return applied
}

func isCA(o *unstructured.Unstructured) bool {
	v, _, _ := unstructured.NestedBool(o.Object, "spec", "isCA")
	return v
}

// serviceAccountKubeconfig writes a kubeconfig with a token of the
// ServiceAccount ns/name (TokenRequest), so a process has exactly its RBAC.
func serviceAccountKubeconfig(ctx context.Context, t *testing.T, c *testenv.Cluster, ns, name string) string {
	t.Helper()
	token := serviceAccountToken(ctx, t, c, ns, name)
	admin, err := clientcmd.LoadFromFile(c.Kubeconfig)
	require.NoError(t, err)
	cluster := admin.Clusters[admin.Contexts[admin.CurrentContext].Cluster]
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["lab"] = cluster
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: "lab", AuthInfo: name, Namespace: ns}
	cfg.CurrentContext = name
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, path))
	return path
}

// serviceAccountToken asks the API server for an hour-long token of the
// ServiceAccount ns/name (TokenRequest).
func serviceAccountToken(ctx context.Context, t *testing.T, c *testenv.Cluster, ns, name string) string {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.Config)
	require.NoError(t, err)
	tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	require.NoError(t, err, "token of ServiceAccount %s/%s", ns, name)
	return tok.Status.Token
}

// scraperToken creates the ServiceAccount pivotcheck-metrics-scraper in ns,
// binds clusterRole to it, as a user binds the bundle's metrics reader
// role to Prometheus, and returns a token of it.
func scraperToken(ctx context.Context, t *testing.T, c *testenv.Cluster, ns, clusterRole string) string {
	t.Helper()
	const name = "pivotcheck-metrics-scraper"
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	require.NoError(t, c.Client.Create(ctx, sa))
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}},
	}
	require.NoError(t, c.Client.Create(ctx, crb))
	t.Cleanup(func() {
		for _, o := range []client.Object{crb, sa} {
			if err := c.Client.Delete(context.Background(), o); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("removing %s: %v", o.GetName(), err)
			}
		}
	})
	return serviceAccountToken(ctx, t, c, ns, name)
}

// writeSecret writes a TLS Secret's files into a folder, as its volume mount would.
func writeSecret(ctx context.Context, t *testing.T, c client.Client, ns, name string) string {
	t.Helper()
	sec := &corev1.Secret{}
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sec))
	dir := t.TempDir()
	for k, v := range sec.Data {
		require.NoError(t, os.WriteFile(filepath.Join(dir, k), v, 0o600))
	}
	return dir
}

// webhookArgs are the container's arguments in the bundle, without the
// address flags the test sets per pod.
func webhookArgs(t *testing.T, dep *unstructured.Unstructured) []string {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	require.Len(t, containers, 1)
	raw, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	var out []string
	for _, a := range raw {
		switch {
		case strings.HasPrefix(a, "--cert-dir"), strings.HasPrefix(a, "--metrics-cert-path"), strings.HasPrefix(a, "--metrics-bind-address"), strings.HasPrefix(a, "--health-probe-bind-address"):
		default:
			out = append(out, a)
		}
	}
	return out
}

var decisionLine = regexp.MustCompile(`^pivotcheck_webhook_decisions_total\{([^}]*)\} (\d+)`)

// decisions sums the webhook's decisions counter by verdict.
func decisions(t *testing.T, url string) (allowed, denied int) {
	t.Helper()
	allowed, denied, err := readDecisions(url)
	require.NoError(t, err)
	return allowed, denied
}

// readDecisions reads the decisions counter of a plain-HTTP metrics
// endpoint (safe from any goroutine).
func readDecisions(url string) (allowed, denied int, err error) {
	return readDecisionsAs(url, "")
}

// metricsClient reads HTTPS metrics without verifying their certificate:
// the webhook generates a self-signed one at start.
var metricsClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // self-signed metrics certificate on loopback
}}

// metricsStatus GETs url with token as bearer (none if empty).
func metricsStatus(url, token string) (int, error) {
	resp, err := getMetrics(url, token)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func getMetrics(url, token string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return metricsClient.Do(req)
}

// readDecisionsAs reads the decisions counter with token as bearer (none
// if empty).
func readDecisionsAs(url, token string) (allowed, denied int, err error) {
	resp, err := getMetrics(url, token)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		m := decisionLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		switch {
		case strings.Contains(m[1], `verdict="allowed"`):
			allowed += n
		case strings.Contains(m[1], `verdict="denied"`):
			denied += n
		}
	}
	return allowed, denied, nil
}
