package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/pivotcheck/pivotcheck/internal/scheme"
	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/upstream"
)

// K8sVersion is the version `make envtest` builds.
const K8sVersion = "1.35.4"

// AssetsDir returns the folder holding kube-apiserver and etcd: KUBEBUILDER_ASSETS
// when set, else the cache `make envtest` fills. It fails with the command to
// run when the binaries are missing.
func AssetsDir() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		cache, err := CacheDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(cache, "k8s", K8sVersion)
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("envtest binary %s not found in %s: run `make envtest` (builds kube-apiserver v%s and etcd from the Go module proxy)", bin, dir, K8sVersion)
		}
	}
	return dir, nil
}

// CacheDir is the folder `make envtest` and `make lab` fill (see lab.CacheDir).
func CacheDir() (string, error) { return lab.CacheDir() }

// Options says what a test cluster starts with.
type Options struct {
	// Name is used in the kubeconfig file name and in errors ("bootstrap", "target").
	Name string
	// LabelCRD, when set, is applied to every upstream CRD before it is
	// installed: tests choose which clusterctl labels the cluster has.
	LabelCRD func(*apiextensionsv1.CustomResourceDefinition)
	// SkipCRD, when it returns true, leaves a CRD out entirely.
	SkipCRD func(*apiextensionsv1.CustomResourceDefinition) bool
	// CRDs, when non-nil, are installed instead of the upstream CRDs (e.g.
	// CRDs a test produced with pivotcheck fn); LabelCRD and SkipCRD still
	// apply to (deep copies of) them.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// WebhookPaths are files or folders with Validating/MutatingWebhookConfigurations
	// envtest installs (with a generated serving certificate).
	WebhookPaths []string
	// Dir is where the kubeconfig file is written (a temporary folder when empty).
	Dir string
	// ClusterAPI is the Cluster API release whose CRDs are installed (one
	// of upstream.ClusterAPIReleases); zero means the linked release.
	ClusterAPI upstream.Module
	// Lab, when set, runs real controllers against this cluster (see
	// internal/test/lab): kube-controller-manager, kube-scheduler and kwok, BMO,
	// CAPM3 and IPAM, as it asks.
	Lab *lab.Options
}

// Cluster is one running API server.
type Cluster struct {
	Name string
	Env  *envtest.Environment
	// Config is an admin (system:masters) REST config.
	Config *rest.Config
	// Client is a controller-runtime client with pivotcheck's scheme.
	Client client.Client
	// Kubeconfig is the path of a kubeconfig file for CLIs (clusterctl, pivotcheck).
	Kubeconfig string
	// Context is the current context name in Kubeconfig.
	Context string
	// Lab is the set of controllers running against the cluster (nil
	// without Options.Lab).
	Lab *lab.Lab

	ownDir string
}

type crdSet struct {
	once sync.Once
	list []*apiextensionsv1.CustomResourceDefinition
	err  error
}

var (
	crdMu   sync.Mutex
	crdSets = map[upstream.Module]*crdSet{}
)

// UpstreamCRDs decodes every real CRD of the linked Cluster API release and
// the Metal3 1.13 train plus clusterctl's Provider CRD (the inventory), once
// per process. Callers get deep copies, so labelling one cluster's CRDs
// never leaks into another's.
func UpstreamCRDs(ctx context.Context) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	return UpstreamCRDsOf(ctx, upstream.ClusterAPI)
}

// UpstreamCRDsOf is UpstreamCRDs with the CRDs (and the Provider CRD) of
// the Cluster API release capi.
func UpstreamCRDsOf(ctx context.Context, capi upstream.Module) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	crdMu.Lock()
	set, ok := crdSets[capi]
	if !ok {
		set = &crdSet{}
		crdSets[capi] = set
	}
	crdMu.Unlock()
	set.once.Do(func() { set.list, set.err = decodeCRDs(ctx, capi) })
	if set.err != nil {
		return nil, set.err
	}
	out := make([]*apiextensionsv1.CustomResourceDefinition, len(set.list))
	for i, c := range set.list {
		out[i] = c.DeepCopy()
	}
	return out, nil
}

func decodeCRDs(ctx context.Context, capi upstream.Module) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	files, err := upstream.AllCRDsWith(ctx, capi)
	if err != nil {
		return nil, err
	}
	capiDir, err := upstream.Dir(ctx, capi)
	if err != nil {
		return nil, err
	}
	files = append(files, filepath.Join(capiDir, "cmd", "clusterctl", "config", "manifest", "clusterctl-api.yaml"))
	var list []*apiextensionsv1.CustomResourceDefinition
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading CRD: %w", err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			return nil, fmt.Errorf("decoding CRD %s: %w", f, err)
		}
		if crd.Kind != "CustomResourceDefinition" {
			continue
		}
		list = append(list, crd)
	}
	return list, nil
}

func (o Options) clusterAPI() upstream.Module {
	if o.ClusterAPI == (upstream.Module{}) {
		return upstream.ClusterAPI
	}
	return o.ClusterAPI
}

// Start starts one API server with the upstream CRDs installed.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Name == "" {
		opts.Name = "cluster"
	}
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	var crds []*apiextensionsv1.CustomResourceDefinition
	if opts.CRDs != nil {
		for _, c := range opts.CRDs {
			crds = append(crds, c.DeepCopy())
		}
	} else if crds, err = UpstreamCRDsOf(ctx, opts.clusterAPI()); err != nil {
		return nil, err
	}
	install := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(crds))
	for _, crd := range crds {
		if opts.SkipCRD != nil && opts.SkipCRD(crd) {
			continue
		}
		if opts.LabelCRD != nil {
			opts.LabelCRD(crd)
		}
		install = append(install, crd)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDInstallOptions: envtest.CRDInstallOptions{
			CRDs:               install,
			ErrorIfPathMissing: true,
			MaxTime:            time.Minute,
		},
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: opts.WebhookPaths},
		ErrorIfCRDPathMissing: true,
	}
	var labOpts *lab.Options
	if opts.Lab != nil && opts.Lab.Any() {
		// A copy: callers may share one Options between clusters, and each
		// cluster needs its own address plan.
		lo := *opts.Lab
		if lo.Network.PodCIDR == "" {
			lo.Network = lab.NewNetwork()
		}
		labOpts = &lo
		args := env.ControlPlane.GetAPIServer().Configure()
		for k, v := range lo.Network.APIServerFlags() {
			args.Set(k, v)
		}
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting %s API server: %w", opts.Name, err)
	}
	c := &Cluster{Name: opts.Name, Env: env, Config: cfg}
	if err := c.finish(opts); err != nil {
		_ = env.Stop()
		return nil, err
	}
	if labOpts != nil {
		c.Lab, err = lab.Start(ctx, lab.Cluster{Name: c.Name, Kubeconfig: c.Kubeconfig, Config: c.Config, Client: c.Client}, *labOpts)
		if err != nil {
			_ = c.Stop()
			return nil, fmt.Errorf("starting the %s lab: %w", opts.Name, err)
		}
	}
	return c, nil
}

func (c *Cluster) finish(opts Options) error {
	var err error
	c.Client, err = client.New(c.Config, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return fmt.Errorf("client for %s: %w", c.Name, err)
	}
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "pivotcheck-"+c.Name+"-"); err != nil {
			return fmt.Errorf("kubeconfig folder for %s: %w", c.Name, err)
		}
		c.ownDir = dir
	}
	user, err := c.Env.AddUser(envtest.User{Name: "pivotcheck-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("admin user for %s: %w", c.Name, err)
	}
	raw, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig for %s: %w", c.Name, err)
	}
	// Give the context a recognisable name so flags like --context can be tested.
	kc, err := clientcmd.Load(raw)
	if err != nil {
		return fmt.Errorf("parsing kubeconfig for %s: %w", c.Name, err)
	}
	c.Context = c.Name
	if ctx, ok := kc.Contexts[kc.CurrentContext]; ok {
		delete(kc.Contexts, kc.CurrentContext)
		kc.Contexts[c.Context] = ctx
		kc.CurrentContext = c.Context
	}
	c.Kubeconfig = filepath.Join(dir, c.Name+".kubeconfig")
	if err := clientcmd.WriteToFile(*kc, c.Kubeconfig); err != nil {
		return fmt.Errorf("writing kubeconfig for %s: %w", c.Name, err)
	}
	return nil
}

// Stop stops the API server and removes its temporary files.
func (c *Cluster) Stop() error {
	if c == nil {
		return nil
	}
	// Controllers first: they must not see their API server go away.
	err := c.Lab.Stop()
	err = errors.Join(err, c.Env.Stop())
	if c.ownDir != "" {
		err = errors.Join(err, os.RemoveAll(c.ownDir))
	}
	if err != nil {
		return fmt.Errorf("stopping %s: %w", c.Name, err)
	}
	return nil
}

// Pair is a bootstrap and a target cluster side by side.
type Pair struct {
	Bootstrap *Cluster
	Target    *Cluster
}

// StartPair starts the bootstrap and target API servers concurrently.
func StartPair(ctx context.Context, bootstrap, target Options) (*Pair, error) {
	if bootstrap.Name == "" {
		bootstrap.Name = "bootstrap"
	}
	if target.Name == "" {
		target.Name = "target"
	}
	// Decode the CRDs once before both goroutines need them.
	for _, o := range []Options{bootstrap, target} {
		if o.CRDs == nil {
			if _, err := UpstreamCRDsOf(ctx, o.clusterAPI()); err != nil {
				return nil, err
			}
		}
	}
	var (
		p          Pair
		errB, errT error
		wg         sync.WaitGroup
	)
	wg.Add(2)
	go func() { defer wg.Done(); p.Bootstrap, errB = Start(ctx, bootstrap) }()
	go func() { defer wg.Done(); p.Target, errT = Start(ctx, target) }()
	wg.Wait()
	if err := errors.Join(errB, errT); err != nil {
		_ = p.Stop()
		return nil, err
	}
	return &p, nil
}

// Stop stops both clusters.
func (p *Pair) Stop() error {
	if p == nil {
		return nil
	}
	return errors.Join(p.Bootstrap.Stop(), p.Target.Stop())
}
