package kube

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/scheme"
)

// Cluster names one cluster (the bootstrap or the target) the way kubectl
// does: a kubeconfig, a context and a server to connect to.
type Cluster struct {
	// Kubeconfig is a file path; empty means $KUBECONFIG or ~/.kube/config.
	Kubeconfig string
	// Context overrides the kubeconfig's current context.
	Context string
	// Overrides are kubectl's override flags (--cluster, --user, --as,
	// --server, --token, --request-timeout...); nil means none. Its
	// CurrentContext is ignored: Context is the one context setting.
	Overrides *clientcmd.ConfigOverrides
	// name is how messages name a Cluster written by Standalone: the
	// original, not the temporary file.
	name string
}

func (t Cluster) String() string {
	if t.name != "" {
		return t.name
	}
	s := t.Kubeconfig
	if s == "" {
		s = "default kubeconfig"
	}
	if t.Context != "" {
		s += " (context " + t.Context + ")"
	}
	return s
}

// HasOverrides reports whether any of kubectl's override flags is set.
func (t Cluster) HasOverrides() bool {
	if t.Overrides == nil {
		return false
	}
	o := *t.Overrides
	o.CurrentContext = ""
	if o.Timeout == "0" { // --request-timeout's default: no timeout
		o.Timeout = ""
	}
	// Semantic equality: a bound but unused --as-group is an empty, not nil, slice.
	return !equality.Semantic.DeepEqual(o, clientcmd.ConfigOverrides{})
}

// loader resolves t with client-go's deferred loading, the rules kubectl
// uses: --kubeconfig, else $KUBECONFIG (merged), else ~/.kube/config, else
// the in-cluster config; then the context and the override flags.
func (t Cluster) loader() clientcmd.ClientConfig {
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(t.rules(), t.overrides())
}

func (t Cluster) rules() *clientcmd.ClientConfigLoadingRules {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if t.Kubeconfig != "" {
		rules.ExplicitPath = t.Kubeconfig
	}
	return rules
}

func (t Cluster) overrides() *clientcmd.ConfigOverrides {
	var o clientcmd.ConfigOverrides
	if t.Overrides != nil {
		o = *t.Overrides // shallow: only CurrentContext is set below
	}
	o.CurrentContext = t.Context
	return &o
}

// Rate is a client-side request rate limit (client-go's token bucket).
type Rate struct {
	// QPS: 0 keeps client-go's default (5 per second); negative turns
	// client-side limiting off, leaving the API server's Priority and
	// Fairness in charge.
	QPS float32
	// Burst: 0 keeps client-go's default (10).
	Burst int
}

// Apply returns a copy of cfg with r where cfg sets no limit of its own (a
// config from a kubeconfig never does; a test's may).
func (r Rate) Apply(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS = r.QPS
	}
	if cfg.Burst == 0 {
		cfg.Burst = r.Burst
	}
	return cfg
}

// RESTConfig loads the REST config of t, limited to r.
func (t Cluster) RESTConfig(r Rate) (*rest.Config, error) {
	cfg, err := t.loader().ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s: %w", t, err)
	}
	return r.Apply(cfg), nil
}

// Namespace returns the context's namespace ("default" when unset).
func (t Cluster) Namespace() (string, error) {
	ns, _, err := t.loader().Namespace()
	if err != nil {
		return "", fmt.Errorf("reading namespace from kubeconfig %s: %w", t, err)
	}
	return ns, nil
}

// Client returns a controller-runtime client for t, limited to r, and the
// REST config it uses.
func (t Cluster) Client(r Rate) (client.Client, *rest.Config, error) {
	cfg, err := t.RESTConfig(r)
	if err != nil {
		return nil, nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return nil, nil, fmt.Errorf("client for %s: %w", t, err)
	}
	return c, cfg, nil
}

// Standalone returns t as a plain kubeconfig file plus context, for tools
// that take nothing else (clusterctl, as library and as binary): with
// override flags set, the context t resolves to, overrides merged, is
// written minified and flattened (certificate files inlined) to name in dir,
// mode 0600. Without overrides t is returned as it is. The caller removes dir.
// A kubeconfig has no request timeout: --request-timeout applies to
// pivotcheck's own requests only (clusterctl keeps its own timeouts).
func (t Cluster) Standalone(dir, name string) (Cluster, error) {
	if !t.HasOverrides() {
		return t, nil
	}
	merged, err := t.mergedRawConfig()
	if err != nil {
		return Cluster{}, fmt.Errorf("applying the override flags to kubeconfig %s: %w", t, err)
	}
	if err := clientcmdapi.MinifyConfig(&merged); err != nil {
		return Cluster{}, fmt.Errorf("selecting the context of kubeconfig %s: %w", t, err)
	}
	if err := clientcmdapi.FlattenConfig(&merged); err != nil {
		return Cluster{}, fmt.Errorf("inlining the certificate files of kubeconfig %s: %w", t, err)
	}
	path := filepath.Join(dir, name)
	if err := clientcmd.WriteToFile(merged, path); err != nil {
		return Cluster{}, fmt.Errorf("writing the resolved kubeconfig %s for %s: %w", path, t, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return Cluster{}, fmt.Errorf("restricting %s: %w", path, err)
	}
	return Cluster{Kubeconfig: path, Context: merged.CurrentContext, name: t.String()}, nil
}

// mergedRawConfig is the kubeconfig, loaded by kubectl's rules, with the
// overrides merged into the selected context, cluster and user: client-go's
// DirectClientConfig computes it, the deferred loader does not expose it.
func (t Cluster) mergedRawConfig() (clientcmdapi.Config, error) {
	rules := t.rules()
	raw, err := rules.Load()
	if err != nil {
		return clientcmdapi.Config{}, err
	}
	o := t.overrides()
	cc, ok := clientcmd.NewNonInteractiveClientConfig(*raw, o.CurrentContext, o, rules).(interface {
		MergedRawConfig() (clientcmdapi.Config, error)
	})
	if !ok {
		return clientcmdapi.Config{}, fmt.Errorf("client-go's kubeconfig loader cannot merge overrides")
	}
	return cc.MergedRawConfig()
}
