package webhook

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

var (
	decisionsOnce sync.Once
	decisions     *prometheus.CounterVec
)

// Decisions is the counter of decisions by gate, verdict and reason,
// registered once in controller-runtime's metrics registry (served on
// --metrics-bind-address).
func Decisions() *prometheus.CounterVec {
	decisionsOnce.Do(func() {
		decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pivotcheck_webhook_decisions_total",
			Help: "Admission decisions of the pivotcheck webhook by gate (pause, delete-for-move), verdict (allowed, denied) and reason.",
		}, []string{"gate", "verdict", "reason"})
		metrics.Registry.MustRegister(decisions)
	})
	return decisions
}

func record(g Gate, allowed bool, reason string) {
	v := "denied"
	if allowed {
		v = "allowed"
	}
	Decisions().WithLabelValues(string(g), v, reason).Inc()
}

// MetricsOptions returns the metrics server settings of o: plain HTTP, or
// HTTPS with the same TLS settings as the webhook server and each request
// authenticated and authorized by the API server (controller-runtime's
// filters, the kubebuilder v4 default).
func MetricsOptions(o Options) metricsserver.Options {
	m := metricsserver.Options{BindAddress: o.MetricsBindAddress}
	if o.MetricsSecure {
		m.SecureServing = true
		m.TLSOpts = TLSOptions(o.TLSMinVersion, o.EnableHTTP2)
		m.FilterProvider = filters.WithAuthenticationAndAuthorization
		if o.MetricsCertDir != "" {
			// controller-runtime's certwatcher reloads a renewed certificate.
			m.CertDir, m.CertName, m.KeyName = o.MetricsCertDir, o.MetricsCertName, o.MetricsKeyName
		}
	}
	return m
}
