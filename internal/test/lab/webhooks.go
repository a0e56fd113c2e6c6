package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pivotcheck/pivotcheck/internal/test/upstream"
)

// webhookSource is where a controller's upstream webhook configuration
// lives in its module zip, and the name prefix its kustomization gives it.
type webhookSource struct {
	module upstream.Module
	file   string
	prefix string
}

var webhookSources = map[string]webhookSource{
	BMO:   {module: upstream.BMO, file: "config/base/webhook/manifests.yaml", prefix: "baremetal-operator-"},
	CAPM3: {module: upstream.CAPM3, file: "config/webhook/manifests.yaml", prefix: "capm3-"},
	IPAM:  {module: upstream.IPAM, file: "config/webhook/manifests.yaml", prefix: "ipam-"},
}

// WebhookConfigs are the configurations of one webhook server.
type WebhookConfigs struct {
	Validating []*admissionregistrationv1.ValidatingWebhookConfiguration
	Mutating   []*admissionregistrationv1.MutatingWebhookConfiguration
}

// ReadWebhookConfigs decodes every Validating/MutatingWebhookConfiguration
// of a YAML stream.
func ReadWebhookConfigs(r io.Reader) (*WebhookConfigs, error) {
	out := &WebhookConfigs{}
	dec := yaml.NewYAMLReader(bufio.NewReader(r))
	for {
		doc, err := dec.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading webhook manifests: %w", err)
		}
		var head struct{ Kind string }
		if err := sigsyaml.Unmarshal(doc, &head); err != nil {
			return nil, fmt.Errorf("decoding a webhook manifest: %w", err)
		}
		switch head.Kind {
		case "ValidatingWebhookConfiguration":
			v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
			if err := sigsyaml.UnmarshalStrict(doc, v); err != nil {
				return nil, fmt.Errorf("decoding a ValidatingWebhookConfiguration: %w", err)
			}
			out.Validating = append(out.Validating, v)
		case "MutatingWebhookConfiguration":
			m := &admissionregistrationv1.MutatingWebhookConfiguration{}
			if err := sigsyaml.UnmarshalStrict(doc, m); err != nil {
				return nil, fmt.Errorf("decoding a MutatingWebhookConfiguration: %w", err)
			}
			out.Mutating = append(out.Mutating, m)
		}
	}
}

// upstreamWebhooks reads a controller's webhook configuration from its
// module zip and names it as its kustomization does.
func upstreamWebhooks(ctx context.Context, name string) (*WebhookConfigs, error) {
	src, ok := webhookSources[name]
	if !ok {
		return nil, fmt.Errorf("no webhook configuration known for %s", name)
	}
	dir, err := upstream.Dir(ctx, src.module)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, src.file))
	if err != nil {
		return nil, fmt.Errorf("%s webhook configuration: %w", name, err)
	}
	defer f.Close()
	cfgs, err := ReadWebhookConfigs(f)
	if err != nil {
		return nil, fmt.Errorf("%s webhook configuration: %w", name, err)
	}
	for _, v := range cfgs.Validating {
		v.Name = src.prefix + v.Name
	}
	for _, m := range cfgs.Mutating {
		m.Name = src.prefix + m.Name
	}
	return cfgs, nil
}

// PointAt rewrites every webhook's clientConfig from the in-cluster Service
// to https://host:port<path>, trusting caPEM: the API server then calls a
// webhook server running on this machine.
func (w *WebhookConfigs) PointAt(hostPort string, caPEM []byte) {
	rewrite := func(cc *admissionregistrationv1.WebhookClientConfig) {
		path := ""
		if cc.Service != nil && cc.Service.Path != nil {
			path = *cc.Service.Path
		}
		cc.Service = nil
		cc.URL = ptr.To("https://" + hostPort + path)
		cc.CABundle = caPEM
	}
	for _, v := range w.Validating {
		for i := range v.Webhooks {
			rewrite(&v.Webhooks[i].ClientConfig)
		}
	}
	for _, m := range w.Mutating {
		for i := range m.Webhooks {
			rewrite(&m.Webhooks[i].ClientConfig)
		}
	}
}

// Install creates (or replaces) the configurations.
func (w *WebhookConfigs) Install(ctx context.Context, c client.Client) error {
	var objs []client.Object
	for _, v := range w.Validating {
		objs = append(objs, v)
	}
	for _, m := range w.Mutating {
		objs = append(objs, m)
	}
	for _, o := range objs {
		err := c.Create(ctx, o)
		if apierrors.IsAlreadyExists(err) {
			if err = c.Delete(ctx, o); err == nil {
				o.SetResourceVersion("")
				err = c.Create(ctx, o)
			}
		}
		if err != nil {
			return fmt.Errorf("installing webhook configuration %s: %w", o.GetName(), err)
		}
	}
	return nil
}
