package webhook

import (
	"fmt"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/pivotcheck/pivotcheck/internal/scheme"
)

// Webhook modes of `pivotcheck webhook`.
const (
	ModeBootstrap = "bootstrap"
	ModeTarget    = "target"
)

// NewTargetManager builds the manager serving the target guard on
// TargetPath. It does not start it. The guard starts no informer; its only
// API calls are SubjectAccessReviews (a bypass, and secure metrics' with
// TokenReviews), so its ServiceAccount needs no read permission at all; the
// manager brings the TLS server, metrics, health probes and signal
// handling. Of o, only the serving, TLS, metrics, probe, read timeout and
// log settings are used.
func NewTargetManager(cfg *rest.Config, o Options) (manager.Manager, *TargetHandler, error) {
	if o.MetricsBindAddress == "" {
		o.MetricsBindAddress = "0"
	}
	if o.HealthProbeBindAddress == "" {
		o.HealthProbeBindAddress = "0"
	}
	srv := crwebhook.NewServer(crwebhook.Options{
		Host: o.Host, Port: o.Port, CertDir: o.CertDir, CertName: o.CertName, KeyName: o.KeyName,
		TLSOpts: TLSOptions(o.TLSMinVersion, o.EnableHTTP2),
	})
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme.Scheme,
		Logger:                 o.Log,
		Metrics:                MetricsOptions(o),
		HealthProbeBindAddress: o.HealthProbeBindAddress,
		WebhookServer:          srv,
		LeaderElection:         false,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("creating manager: %w", err)
	}
	h := &TargetHandler{Record: record, Review: SubjectAccessReviewer(mgr.GetClient()), ReadTimeout: o.ReadTimeout, Log: mgr.GetLogger().WithName("pivotcheck-target-guard")}
	Decisions() // register the series family before the first decision
	mgr.GetWebhookServer().Register(TargetPath, &admission.Webhook{Handler: h})
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, nil, fmt.Errorf("adding healthz: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook-server", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return nil, nil, fmt.Errorf("adding readyz: %w", err)
	}
	return mgr, h, nil
}
