package webhook_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/webhook"
)

// Secure metrics (the bundles' --metrics-bind-address=:8443, default
// --metrics-secure) on a real API server: the endpoint is HTTPS, a request
// without a token gets 401, a token the API server rejects gets no
// metrics either, a token whose identity may not GET /metrics
// gets 403, and a token bound to the bundle's metrics-reader role gets the
// metrics. The webhook runs with its bundle's metrics RBAC only, so this also
// proves that RBAC is enough for the TokenReviews and SubjectAccessReviews.
func TestSecureMetrics(t *testing.T) {
	p := envPair(t)
	b := p.Bootstrap
	cases := []struct {
		name       string
		rbacFiles  []string
		readerRole string
		start      func(t *testing.T, o webhook.Options) manager.Manager
	}{{
		name:       "bootstrap",
		rbacFiles:  []string{"../config/rbac/metrics_auth_role.yaml", "../config/rbac/metrics_auth_role_binding.yaml", "../config/rbac/metrics_reader_role.yaml"},
		readerRole: "pivotcheck-metrics-reader",
		start: func(t *testing.T, o webhook.Options) manager.Manager {
			mgr, _, err := webhook.NewManager(webhookConfig(t, b), o)
			require.NoError(t, err)
			return mgr
		},
	}, {
		name:       "target",
		rbacFiles:  []string{"../config/target/metrics_auth_role.yaml", "../config/target/metrics_reader_role.yaml"},
		readerRole: "pivotcheck-target-metrics-reader",
		start: func(t *testing.T, o webhook.Options) manager.Manager {
			u, err := b.Env.AddUser(envtest.User{Name: "system:serviceaccount:pivotcheck-target-system:pivotcheck-target-guard"}, nil)
			require.NoError(t, err)
			mgr, _, err := webhook.NewTargetManager(u.Config(), o)
			require.NoError(t, err)
			return mgr
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			applyRBACFiles(t, b.Client, tc.rbacFiles...)
			allowed := scraperToken(t, b, "metrics-scraper-"+tc.name, tc.readerRole)
			stranger := scraperToken(t, b, "stranger-"+tc.name, "")

			wio := b.Env.WebhookInstallOptions
			addr := freeAddr(t)
			mgr := tc.start(t, webhook.Options{
				Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: wio.LocalServingCertDir,
				MetricsBindAddress: addr, MetricsSecure: true, Log: logr.Discard(),
			})
			runCtx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- mgr.Start(runCtx) }()
			defer func() { cancel(); require.NoError(t, <-done) }()

			url := "https://" + addr + "/metrics"
			var code int
			require.Eventually(t, func() bool { code, _ = scrape(url, ""); return code != 0 }, 30*time.Second, 20*time.Millisecond, "metrics server at %s", addr)
			require.Equal(t, http.StatusUnauthorized, code, "no token")
			// controller-runtime's filter answers 500 when the TokenReview
			// reports an error, which is how the API server rejects a
			// malformed token; either way nothing is served.
			code, body := scrape(url, "not-a-token")
			require.Contains(t, []int{http.StatusUnauthorized, http.StatusInternalServerError}, code, "a token the API server does not know")
			require.NotContains(t, body, "pivotcheck_webhook_decisions_total")
			code, _ = scrape(url, stranger)
			require.Equal(t, http.StatusForbidden, code, "a valid token not allowed to GET /metrics")
			// A series appears with the first decision; make one.
			webhook.Decisions().WithLabelValues("pause", "denied", webhook.ReasonHostBusy).Add(0)
			code, body = scrape(url, allowed)
			require.Equal(t, http.StatusOK, code, body)
			require.True(t, strings.Contains(body, "pivotcheck_webhook_decisions_total{"), "the decisions counter is served")

			// No plain-HTTP fallback on the same port.
			plain, _ := httpGet("http://" + addr + "/metrics")
			require.NotEqual(t, http.StatusOK, plain)
		})
	}
}

// applyRBACFiles creates the (Cluster)Roles and bindings of the given
// bundle files, as the bundle would.
func applyRBACFiles(t testing.TB, c client.Client, files ...string) {
	t.Helper()
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, u := range splitDocs(t, data) {
			var obj client.Object
			switch u.GetKind() {
			case "ClusterRole":
				obj = convert[rbacv1.ClusterRole](t, u)
			case "ClusterRoleBinding":
				obj = convert[rbacv1.ClusterRoleBinding](t, u)
			default:
				t.Fatalf("%s: unexpected kind %s", f, u.GetKind())
			}
			if err := c.Create(context.Background(), obj); err != nil && !apierrors.IsAlreadyExists(err) {
				require.NoError(t, err, "%s %s", u.GetKind(), u.GetName())
			}
		}
	}
}

// scraperToken creates the ServiceAccount metrics-scrapers/name, binds it
// to clusterRole (none if empty) and returns a token of it, as Prometheus's
// mounted token would be.
func scraperToken(t *testing.T, c *testenv.Cluster, name, clusterRole string) string {
	t.Helper()
	ctx := context.Background()
	const ns = "metrics-scrapers"
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	if err := c.Client.Create(ctx, nsObj); err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	require.NoError(t, c.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}))
	if clusterRole != "" {
		require.NoError(t, c.Client.Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}},
		}))
	}
	cs, err := kubernetes.NewForConfig(rest.CopyConfig(c.Config))
	require.NoError(t, err)
	tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	require.NoError(t, err, "token of ServiceAccount %s/%s", ns, name)
	return tok.Status.Token
}

// scrape GETs url over TLS without verifying the server (the metrics
// certificate is self-signed, generated at start), with token as bearer if
// set. Code 0: not reachable.
func scrape(url, token string) (int, string) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // self-signed metrics certificate; the test checks authn/authz
	}}
	resp, err := cl.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// With --metrics-cert-path (what the bundles set, pointing at the serving
// certificate's Secret), metrics are served with that certificate, so a
// scraper verifies it against the CA, as the ServiceMonitor does; the
// self-signed default fails the same verification.
func TestMetricsServeVerifiableCertificate(t *testing.T) {
	p := envPair(t)
	b := p.Bootstrap
	applyRBACFiles(t, b.Client, "../config/rbac/metrics_auth_role.yaml", "../config/rbac/metrics_auth_role_binding.yaml", "../config/rbac/metrics_reader_role.yaml")
	token := scraperToken(t, b, "verifying-scraper", "pivotcheck-metrics-reader")
	wio := b.Env.WebhookInstallOptions
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(wio.LocalServingCAData))
	verifying := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		// envtest's serving certificate names localhost; the ServiceMonitor's
		// serverName plays this part in a cluster.
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12},
	}}
	for _, tc := range []struct {
		name     string
		certDir  string
		verifies bool
	}{{"serving certificate", wio.LocalServingCertDir, true}, {"self-signed default", "", false}} {
		t.Run(tc.name, func(t *testing.T) {
			addr := freeAddr(t)
			mgr, _, err := webhook.NewManager(webhookConfig(t, b), webhook.Options{
				Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: wio.LocalServingCertDir,
				MetricsBindAddress: addr, MetricsSecure: true, MetricsCertDir: tc.certDir,
				MetricsCertName: "tls.crt", MetricsKeyName: "tls.key", Log: logr.Discard(),
			})
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- mgr.Start(ctx) }()
			defer func() { cancel(); require.NoError(t, <-done) }()
			url := "https://" + addr + "/metrics"
			require.Eventually(t, func() bool { code, _ := scrape(url, ""); return code != 0 }, 30*time.Second, 20*time.Millisecond, "metrics server at %s", addr)
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := verifying.Do(req)
			if !tc.verifies {
				require.Error(t, err, "a self-signed certificate does not verify")
				return
			}
			require.NoError(t, err, "the metrics certificate verifies against the CA")
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
			require.Contains(t, string(body), "pivotcheck_webhook_decisions_total")
		})
	}
}
