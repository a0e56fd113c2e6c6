package kube

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/scheme"
)

// Target names one cluster the way kubectl does.
type Target struct {
	// Kubeconfig is a file path; empty means $KUBECONFIG or ~/.kube/config.
	Kubeconfig string
	// Context overrides the kubeconfig's current context.
	Context string
}

func (t Target) String() string {
	s := t.Kubeconfig
	if s == "" {
		s = "default kubeconfig"
	}
	if t.Context != "" {
		s += " (context " + t.Context + ")"
	}
	return s
}

func (t Target) loader() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if t.Kubeconfig != "" {
		rules.ExplicitPath = t.Kubeconfig
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: t.Context})
}

// RESTConfig loads the REST config of t.
func (t Target) RESTConfig() (*rest.Config, error) {
	cfg, err := t.loader().ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s: %w", t, err)
	}
	return cfg, nil
}

// Namespace returns the context's namespace ("default" when unset).
func (t Target) Namespace() (string, error) {
	ns, _, err := t.loader().Namespace()
	if err != nil {
		return "", fmt.Errorf("reading namespace from kubeconfig %s: %w", t, err)
	}
	return ns, nil
}

// Client returns a controller-runtime client for t.
func (t Target) Client() (client.Client, *rest.Config, error) {
	cfg, err := t.RESTConfig()
	if err != nil {
		return nil, nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return nil, nil, fmt.Errorf("client for %s: %w", t, err)
	}
	return c, cfg, nil
}
