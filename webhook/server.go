package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/scheme"
)

// Paths the ValidatingWebhookConfiguration calls (config/webhook/manifests.yaml).
const (
	PausePath         = "/validate-pause"
	DeleteForMovePath = "/validate-delete-for-move"
)

// IrSOGroupKind is the Ironic Standalone Operator's Ironic kind.
var IrSOGroupKind = schema.GroupKind{Group: ironic.IrSOGroup, Kind: "Ironic"}

// Options configure the webhook process.
type Options struct {
	// Host, Port, CertDir, CertName, KeyName: the TLS serving endpoint.
	Host              string
	Port              int
	CertDir           string
	CertName, KeyName string
	// TLSMinVersion is tls.VersionTLS12 (default) or tls.VersionTLS13.
	TLSMinVersion uint16
	// EnableHTTP2 keeps HTTP/2 on; off by default (HTTP/2 rapid-reset CVEs).
	EnableHTTP2 bool
	// MetricsBindAddress and HealthProbeBindAddress: "0" disables.
	MetricsBindAddress     string
	HealthProbeBindAddress string
	// MetricsSecure serves /metrics over HTTPS (a self-signed certificate
	// generated at start) and lets only callers whose bearer token the API
	// server authenticates (TokenReview) and authorizes for GET /metrics
	// (SubjectAccessReview) read it, as kubebuilder v4 projects do. The
	// process's identity needs config/rbac/metrics_auth_role.yaml.
	MetricsSecure bool
	// MetricsCertDir, MetricsCertName, MetricsKeyName: the certificate
	// secure metrics serve (the bundles mount the cert-manager serving
	// Secret, whose certificate also names the metrics Service, so a
	// scraper can verify it). Empty dir: a self-signed certificate
	// generated at start, which no scraper can verify.
	MetricsCertDir                  string
	MetricsCertName, MetricsKeyName string
	// Workloads are the Ironic Deployments/DaemonSets (default ironic.DefaultWorkloads).
	Workloads   []ironic.Workload
	ReadTimeout time.Duration
	MaxListed   int
	// TrustFor: see Handler.TrustFor.
	TrustFor time.Duration
	// BMHPollInterval: how often a webhook started without the
	// BareMetalHost CRD looks for it (default BMHPollInterval).
	BMHPollInterval time.Duration
	// QPS and Burst of the webhook's API client when the kubeconfig sets
	// none. Default: no client-side throttling (QPS -1). client-go's own
	// default of 5 QPS queues the 6-7 live reads of a live confirmation
	// behind each other until the read deadline expires; the API server's
	// Priority and Fairness protects it instead.
	QPS   float32
	Burst int
	Log   logr.Logger
}

// Rate is the client-side limit of the webhook's API client: o.QPS and
// o.Burst, no limit when o.QPS is 0.
func (o Options) Rate() kube.Rate {
	r := kube.Rate{QPS: o.QPS, Burst: o.Burst}
	if r.QPS == 0 {
		r.QPS = -1
	}
	return r
}

// TLSOptions returns the serving TLS settings: minimum version, and HTTP/1.1
// only unless HTTP/2 is asked for.
func TLSOptions(minVersion uint16, http2 bool) []func(*tls.Config) {
	if minVersion == 0 {
		minVersion = tls.VersionTLS12
	}
	return []func(*tls.Config){func(c *tls.Config) {
		c.MinVersion = minVersion
		if !http2 {
			c.NextProtos = []string{"http/1.1"}
		}
	}}
}

// CacheOptions keep the informer cache small: no managedFields, pods
// reduced to what Ironic detection reads, ConfigMaps to their short values,
// no deep copies on reads (the handler never mutates what it reads).
func CacheOptions() cache.Options {
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:       {Transform: stripPod},
			&corev1.ConfigMap{}: {Transform: stripConfigMap},
		},
		DefaultUnsafeDisableDeepCopy: ptr.To(true),
		// A read of a type we did not warm up must fail, not start an
		// informer and block past the webhook timeout.
		ReaderFailOnMissingInformer: true,
	}
}

// NewManager builds the manager serving both gates. It does not start it.
func NewManager(cfg *rest.Config, o Options) (manager.Manager, *Handler, error) {
	if len(o.Workloads) == 0 {
		o.Workloads = ironic.DefaultWorkloads
	}
	if o.MetricsBindAddress == "" {
		o.MetricsBindAddress = "0"
	}
	if o.HealthProbeBindAddress == "" {
		o.HealthProbeBindAddress = "0"
	}
	cfg = o.Rate().Apply(cfg)
	srv := crwebhook.NewServer(crwebhook.Options{
		Host: o.Host, Port: o.Port, CertDir: o.CertDir, CertName: o.CertName, KeyName: o.KeyName,
		TLSOpts: TLSOptions(o.TLSMinVersion, o.EnableHTTP2),
	})
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme.Scheme,
		Logger:                 o.Log,
		Cache:                  CacheOptions(),
		Metrics:                MetricsOptions(o),
		HealthProbeBindAddress: o.HealthProbeBindAddress,
		WebhookServer:          srv,
		// Every replica answers admission requests; none writes anything,
		// so there is nothing to elect a leader for.
		LeaderElection: false,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("creating manager: %w", err)
	}
	h, err := Setup(mgr, o)
	if err != nil {
		return nil, nil, err
	}
	return mgr, h, nil
}

// NewLiveReader is the uncached client of the live confirmation: the
// manager's API reader, without gzip. The webhook and the API server share
// a cluster network, and compressing the host metadata (5 MB at 5,000
// hosts) cost the API server more CPU than sending it.
func NewLiveReader(cfg *rest.Config, s *runtime.Scheme, m meta.RESTMapper) (client.Reader, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.DisableCompression = true
	c, err := client.New(cfg, client.Options{Scheme: s, Mapper: m})
	if err != nil {
		return nil, fmt.Errorf("creating the live API reader: %w", err)
	}
	return c, nil
}

// Setup registers the host index, the handlers on both paths, the cache
// warm-up that flips readiness, and /healthz + /readyz on mgr.
func Setup(mgr manager.Manager, o Options) (*Handler, error) {
	ctx := context.Background()
	served, err := DiscoveryServed(mgr.GetConfig())
	if err != nil {
		return nil, err
	}
	bmh := &BMHWatch{Served: served}
	hostsServed, err := served(ctx)
	if err != nil {
		return nil, err
	}
	warm := []client.Object{&appsv1.Deployment{}, &appsv1.DaemonSet{}, &corev1.Pod{}, &corev1.ConfigMap{}, namespaceMeta()}
	for _, obj := range []client.Object{&appsv1.Deployment{}, &appsv1.DaemonSet{}, &corev1.Pod{}} {
		if err := mgr.GetFieldIndexer().IndexField(ctx, obj, WorkloadIndex, IndexWorkload(o.Workloads)); err != nil {
			return nil, fmt.Errorf("indexing %T: %w", obj, err)
		}
	}
	if hostsServed {
		if err := mgr.GetFieldIndexer().IndexField(ctx, &bmov1alpha1.BareMetalHost{}, HostIndex, IndexHost); err != nil {
			return nil, fmt.Errorf("indexing BareMetalHosts: %w", err)
		}
		warm = append(warm, &bmov1alpha1.BareMetalHost{})
		bmh.MarkWatched()
	}
	irso, err := discoverIrSO(mgr.GetRESTMapper())
	if err != nil {
		return nil, err
	}
	hosts, err := NewHostProjection(mgr.GetConfig())
	if err != nil {
		return nil, err
	}
	live, err := NewLiveReader(mgr.GetConfig(), mgr.GetScheme(), mgr.GetRESTMapper())
	if err != nil {
		return nil, err
	}
	ready := &Readiness{}
	h := &Handler{
		Cache: mgr.GetCache(), Live: live, LiveHosts: hosts, Workloads: o.Workloads, IrSO: irso,
		Synced: ready.Synced, ReadTimeout: o.ReadTimeout, MaxListed: o.MaxListed, TrustFor: o.TrustFor, Record: record,
		Review: SubjectAccessReviewer(mgr.GetClient()), BMH: bmh,
		Log: mgr.GetLogger().WithName("pivotcheck-webhook"),
	}
	Decisions() // register even before the first decision, so the series family is visible
	BypassedNamespaces()
	if !hostsServed {
		h.Log.Info("the BareMetalHost CRD is not installed: gated requests are refused until it appears and its hosts are watched", "pollInterval", BMHPollInterval)
		interval := o.BMHPollInterval
		if interval <= 0 {
			interval = BMHPollInterval
		}
		if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
			return watchWhenServed(ctx, bmh, mgr.GetCache(), interval, h.Log)
		})); err != nil {
			return nil, fmt.Errorf("adding BareMetalHost watch: %w", err)
		}
	}
	if irso != nil {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(*irso)
		warm = append(warm, u)
	}
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		for _, obj := range warm {
			if _, err := mgr.GetCache().GetInformer(ctx, obj); err != nil {
				return fmt.Errorf("starting informer for %T: %w", obj, err)
			}
		}
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("informer cache did not sync")
		}
		if err := watchBypassLabel(ctx, mgr.GetCache(), h.Log); err != nil {
			return err
		}
		ready.MarkSynced()
		h.Log.Info("cache synced; serving verdicts", "ironicWorkloads", o.Workloads, "irso", irso != nil)
		<-ctx.Done()
		return nil
	})); err != nil {
		return nil, fmt.Errorf("adding cache warm-up: %w", err)
	}
	wh := &admission.Webhook{Handler: h}
	mgr.GetWebhookServer().Register(PausePath, wh)
	mgr.GetWebhookServer().Register(DeleteForMovePath, wh)
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("adding healthz: %w", err)
	}
	if err := mgr.AddReadyzCheck("cache-synced", ready.Check); err != nil {
		return nil, fmt.Errorf("adding readyz: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook-server", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return nil, fmt.Errorf("adding readyz: %w", err)
	}
	return h, nil
}

// discoverIrSO finds the served version of IrSO's Ironic kind; nil when the
// CRD is absent. Installing IrSO later needs a webhook restart to be seen
// (documented).
func discoverIrSO(m meta.RESTMapper) (*schema.GroupVersionKind, error) {
	mapping, err := m.RESTMapping(IrSOGroupKind)
	if err != nil {
		if kube.KindMissing(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("looking up %s: %w", IrSOGroupKind, err)
	}
	gvk := mapping.GroupVersionKind
	return &gvk, nil
}
