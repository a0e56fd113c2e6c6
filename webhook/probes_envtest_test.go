package webhook_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/webhook"
)

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func httpGet(url string) (int, string) {
	resp, err := http.Get(url) //nolint:gosec,noctx // test probe
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// /healthz, /readyz (ready only once the cache synced) and /metrics with
// the decisions counter, as the Deployment's probes and Prometheus see them.
func TestProbesAndMetrics(t *testing.T) {
	p := envPair(t)
	b := p.Bootstrap
	wio := b.Env.WebhookInstallOptions
	probes, metrics := freeAddr(t), freeAddr(t)
	mgr, h, err := webhook.NewManager(webhookConfig(t, b), webhook.Options{
		Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: wio.LocalServingCertDir,
		HealthProbeBindAddress: probes, MetricsBindAddress: metrics, Log: logr.Discard(),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	require.Eventually(t, func() bool { c, _ := httpGet("http://" + probes + "/healthz"); return c == http.StatusOK }, 30*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { c, _ := httpGet("http://" + probes + "/readyz"); return c == http.StatusOK }, 30*time.Second, 20*time.Millisecond)
	require.True(t, h.Synced(), "ready implies the cache synced")

	// The counter family is registered at setup; a series appears with the first decision.
	webhook.Decisions().WithLabelValues("pause", "denied", webhook.ReasonHostBusy).Add(0)
	code, body := httpGet("http://" + metrics + "/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "pivotcheck_webhook_decisions_total")
	require.Contains(t, body, "controller_runtime_webhook_requests_total")
}

func TestReadinessBeforeSync(t *testing.T) {
	r := &webhook.Readiness{}
	require.Error(t, r.Check(nil))
	r.MarkSynced()
	require.NoError(t, r.Check(nil))
}
