package main

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/webhook"
)

func newWebhookCommand() *cobra.Command {
	var (
		o          webhook.Options
		target     kube.Cluster
		ironicArgs []string
		tlsMin     string
		mode       string
	)
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Serve the admission webhook that blocks an unsafe move",
		Long: `Serve the validating admission webhook for the bootstrap cluster. It refuses
clusterctl move's first write (pausing a Cluster or ClusterClass) and its
delete-for-move of Metal3 objects while a BareMetalHost of the namespace is
mid-operation or Ironic still runs in the cluster. With no Ironic in the
cluster, an allowed pause warns with the Ironic endpoint BMO is configured
for (it may run outside the cluster). A maintenance pause or the pause of
clusterctl move --to-directory is refused alike: annotate the Cluster as
below, pause, then remove the annotation. Install it with
kubectl apply -k config/default (needs cert-manager).

With --mode target it serves the target guard instead, for the cluster a move
copies into (kubectl apply -k config/target): it refuses to create a consumed
or externally provisioned BareMetalHost without a restorable
baremetalhost.metal3.io/status annotation, so a plain clusterctl move retries
until CAPM3 has annotated the source host instead of copying a host the
target's BMO would re-provision. It reads nothing from the cluster.

Preflight for free:
  kubectl patch cluster NAME --type merge -p '{"spec":{"paused":true}}' --dry-run=server
Bypass (at your own risk; the annotation counts only for a requester allowed
verb bypass on unsafemoves.pivotcheck.dev in the namespace, e.g. bound to the
ClusterRole pivotcheck-unsafe-move-bypass):
  kubectl annotate cluster NAME pivotcheck.dev/allow-unsafe-move="<reason>"
  kubectl label namespace NS pivotcheck.dev/allow-unsafe-move=<reason>`,
		Example: `  # in the cluster (what config/default deploys)
  pivotcheck webhook --cert-dir /tmp/k8s-webhook-server/serving-certs
  # on a workstation against a bootstrap cluster, with one extra Ironic workload
  pivotcheck webhook --kubeconfig bootstrap.kubeconfig --cert-dir ./certs --ironic-workload metal3/my-ironic
  # the target guard (what config/target deploys)
  pivotcheck webhook --mode target --cert-dir /tmp/k8s-webhook-server/serving-certs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if mode != webhook.ModeBootstrap && mode != webhook.ModeTarget {
				return fmt.Errorf("--mode %q: use %s (the bootstrap cluster) or %s (the cluster a move copies into)", mode, webhook.ModeBootstrap, webhook.ModeTarget)
			}
			var err error
			if o.Workloads, err = parseWorkloads(ironicArgs); err != nil {
				return err
			}
			switch tlsMin {
			case "1.2":
				o.TLSMinVersion = tls.VersionTLS12
			case "1.3":
				o.TLSMinVersion = tls.VersionTLS13
			default:
				return fmt.Errorf("--tls-min-version %q: use 1.2 or 1.3", tlsMin)
			}
			if o.ReadTimeout <= 0 || o.ReadTimeout > 4*time.Second {
				return fmt.Errorf("--read-timeout %s must be above 0 and at most 4s, inside the 5s webhook timeout", o.ReadTimeout)
			}
			cfg, err := target.RESTConfig(o.Rate())
			if err != nil {
				return err
			}
			o.Log = ctrl.Log.WithName("webhook")
			var mgr manager.Manager
			switch mode {
			case webhook.ModeBootstrap:
				mgr, _, err = webhook.NewManager(cfg, o)
			case webhook.ModeTarget:
				mgr, _, err = webhook.NewTargetManager(cfg, o)
			}
			if err != nil {
				return err
			}
			o.Log.Info("starting", "mode", mode, "port", o.Port, "certDir", o.CertDir, "metrics", o.MetricsBindAddress, "metricsSecure", o.MetricsSecure, "probes", o.HealthProbeBindAddress)
			if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
				return fmt.Errorf("running webhook: %w", err)
			}
			return nil
		},
	}
	fl := newFlags(cmd)
	fl.StringVar(&mode, "mode", webhook.ModeBootstrap, "bootstrap: gate clusterctl move's pause and deletes in the source; target: refuse hosts that would arrive without their status in the target")
	fl.StringVar(&o.Host, "host", "", "address the webhook server binds to (empty: all)")
	fl.IntVar(&o.Port, "port", 9443, "port the webhook server serves on")
	fl.StringVar(&o.CertDir, "cert-dir", "/tmp/k8s-webhook-server/serving-certs", "folder with the serving certificate and key (cert-manager's Secret mounted here)")
	fl.StringVar(&o.CertName, "cert-name", "tls.crt", "serving certificate file name in --cert-dir")
	fl.StringVar(&o.KeyName, "key-name", "tls.key", "serving key file name in --cert-dir")
	fl.StringVar(&tlsMin, "tls-min-version", "1.2", "minimum TLS version: 1.2 or 1.3")
	fl.BoolVar(&o.EnableHTTP2, "enable-http2", false, "serve HTTP/2 too (off: HTTP/2 rapid-reset and stream CVEs)")
	fl.StringVar(&o.MetricsBindAddress, "metrics-bind-address", ":8443", "address of the Prometheus /metrics endpoint (\"0\" disables)")
	fl.BoolVar(&o.MetricsSecure, "metrics-secure", true, "serve /metrics over HTTPS to callers the API server authenticates and authorizes for GET /metrics (false: plain HTTP, no authentication)")
	fl.StringVar(&o.MetricsCertDir, "metrics-cert-path", "", "folder with the certificate and key secure metrics serve (empty: a self-signed certificate generated at start, which scrapers cannot verify)")
	fl.StringVar(&o.MetricsCertName, "metrics-cert-name", "tls.crt", "metrics certificate file name in --metrics-cert-path")
	fl.StringVar(&o.MetricsKeyName, "metrics-cert-key", "tls.key", "metrics key file name in --metrics-cert-path")
	fl.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", ":8081", "address of /healthz and /readyz (\"0\" disables)")
	bindTarget(cmd, &target, "", "the cluster the webhook serves")
	bindWorkloads(fl, &ironicArgs)
	fl.DurationVar(&o.ReadTimeout, "read-timeout", webhook.DefaultReadTimeout, "deadline of all cache and API reads of one request (at most 4s: the webhook timeout is 5s)")
	fl.Float32Var(&o.QPS, "kube-api-qps", -1, "client-side QPS limit of the webhook's API reads (-1: none, rely on the API server's Priority and Fairness)")
	fl.IntVar(&o.Burst, "kube-api-burst", 0, "client-side burst of the webhook's API reads (with --kube-api-qps > 0)")
	fl.IntVar(&o.MaxListed, "max-listed", webhook.DefaultMaxListed, "hosts and Ironic instances named in a denial before \"and K more\"")
	return cmd
}
