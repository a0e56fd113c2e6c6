package fn

import (
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// Processor is the pivot-prep function as a kyaml ResourceListProcessor.
type Processor struct{}

// Process reads the config, runs the three transformations on rl.Items in
// place and appends one result per change or hazard. It returns an error when
// any result has severity error, because kpt and kustomize judge a function
// only by its exit code (framework.Execute writes the items either way).
func (Processor) Process(rl *framework.ResourceList) error {
	cfg, err := ParseConfig(rl.FunctionConfig)
	if err != nil {
		rl.Results = append(rl.Results, &framework.Result{Severity: framework.Error, Message: err.Error()})
		return fmt.Errorf("invalid function config: %w", err)
	}
	objs, err := collect(rl.Items)
	if err != nil {
		rl.Results = append(rl.Results, &framework.Result{Severity: framework.Error, Message: err.Error()})
		return err
	}
	rl.Results = append(rl.Results, Transform(cfg, objs)...)
	return resultsError(rl.Results)
}

// resultsError is non-nil when any result is an error; it lists only those.
func resultsError(rs framework.Results) error {
	if rs.ExitCode() == 0 {
		return nil
	}
	var errs framework.Results
	for _, r := range rs {
		if r.Severity == framework.Error {
			errs = append(errs, r)
		}
	}
	return errs
}

// collect checks every item is a Kubernetes object and wraps it; kpt's
// Kptfile and local-config objects are left out (they are not deployed).
func collect(items []*kyaml.RNode) ([]*object, error) {
	objs := make([]*object, 0, len(items))
	for i, it := range items {
		if it == nil {
			return nil, fmt.Errorf("item %d of the ResourceList is empty", i)
		}
		n := it.YNode()
		if n == nil || n.Kind != kyaml.MappingNode {
			return nil, fmt.Errorf("item %d of the ResourceList is not an object (a YAML mapping)", i)
		}
		o := newObject(n)
		if o.apiVersion == "" || o.kind == "" {
			return nil, fmt.Errorf("item %d of the ResourceList (%q) has no apiVersion or kind", i, o.name)
		}
		if m := get(n, "metadata"); m != nil && !isMap(m) {
			return nil, fmt.Errorf("item %d of the ResourceList (%s) has a metadata field that is not a mapping", i, o)
		}
		if o.kind == "Kptfile" || isLocalConfig(o) {
			continue
		}
		objs = append(objs, o)
	}
	return objs, nil
}

func isLocalConfig(o *object) bool {
	v := o.annotation("config.kubernetes.io/local-config")
	return v != "" && !strings.EqualFold(v, "false")
}

// Transform runs the enabled transformations over objs, editing them in
// place, and returns the results in a deterministic order: labels, then
// keepalived, then owner references, each in input order.
func Transform(cfg *Config, objs []*object) framework.Results {
	var rs results
	if !cfg.Labels.Disabled {
		labelCRDs(cfg, objs, &rs)
	}
	idx := buildIndex(objs)
	if !cfg.Keepalived.Disabled {
		addKeepalived(cfg, objs, idx, &rs)
	}
	if !cfg.Owners.Disabled {
		repairOwners(cfg, objs, idx, &rs)
	}
	return rs.list
}

// results collects function results.
type results struct{ list framework.Results }

func (r *results) add(sev framework.Severity, o *object, field, format string, args ...any) {
	res := &framework.Result{Severity: sev, Message: fmt.Sprintf(format, args...)}
	if o != nil {
		res.ResourceRef = o.ref()
		res.File = o.file()
	}
	if field != "" {
		res.Field = &framework.Field{Path: field}
	}
	r.list = append(r.list, res)
}

func (r *results) info(o *object, field, format string, args ...any) {
	r.add(framework.Info, o, field, format, args...)
}

func (r *results) warn(o *object, field, format string, args ...any) {
	r.add(framework.Warning, o, field, format, args...)
}

func (r *results) err(o *object, field, format string, args ...any) {
	r.add(framework.Error, o, field, format, args...)
}
