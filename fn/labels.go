package fn

import (
	"maps"
	"slices"
	"strings"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
)

const bmoGroup = "metal3.io"

// Why each clusterctl label matters, for the info results.
var labelWhy = map[string]string{
	LabelClusterctl:    "clusterctl move only considers kinds whose CRD carries it",
	LabelMove:          "clusterctl move moves every object of the kind even without an owner chain",
	LabelMoveHierarchy: "clusterctl move moves every object of the kind and everything it owns",
	LabelProvider:      "clusterctl delete and upgrade find the provider's CRDs by it",
}

func isCRD(o *object) bool {
	return o.kind == "CustomResourceDefinition" && o.group == "apiextensions.k8s.io"
}

func crdGroupKind(o *object) (string, string) {
	spec := get(o.node, "spec")
	return str(get(spec, "group")), str(path(spec, "names", "kind"))
}

// matchRule returns the first rule matching the CRD's group and kind.
func matchRule(rules []LabelRule, group, kind string) *LabelRule {
	for i := range rules {
		r := &rules[i]
		if r.Group != group {
			continue
		}
		switch {
		case r.Kind == "":
		case strings.HasSuffix(r.Kind, "*"):
			if !strings.HasPrefix(kind, strings.TrimSuffix(r.Kind, "*")) {
				continue
			}
		case r.Kind != kind:
			continue
		}
		return r
	}
	return nil
}

// labelCRDs gives matching CRDs the labels their rule names. Existing
// clusterctl labels are presence-only (any value works), so they are never
// rewritten; a different provider value is a conflict.
func labelCRDs(cfg *Config, objs []*object, rs *results) {
	for _, o := range objs {
		if !isCRD(o) {
			continue
		}
		group, kind := crdGroupKind(o)
		if group == bmoGroup {
			if v, ok := o.label(LabelProvider); ok {
				rs.warn(o, "metadata.labels", "BMO CRD carries %s=%q: `clusterctl delete --include-crd` would delete this CRD and every object of the kind with it", LabelProvider, v)
			}
		}
		rule := matchRule(cfg.rules, group, kind)
		if rule == nil {
			continue
		}
		// Sorted so output and results never depend on map order.
		for _, k := range slices.Sorted(maps.Keys(rule.Labels)) {
			want := rule.Labels[k]
			have, ok := o.label(k)
			field := "metadata.labels." + k
			switch {
			case ok && have == want:
			case ok && (k == LabelClusterctl || k == LabelMove || k == LabelMoveHierarchy):
				// clusterctl reads only the presence of these labels.
			case ok && k == LabelProvider && !cfg.Labels.OverwriteProvider:
				rs.warn(o, field, "left %s=%q alone although the rule says %q; set spec.labels.overwriteProvider: true to replace it", k, have, want)
			case !o.setLabel(k, want):
				rs.err(o, "metadata.labels", "cannot set label %s: metadata.labels is not a mapping", k)
			case ok:
				rs.info(o, field, "changed label %s from %q to %q: %s", k, have, want, whyFor(group, kind, k))
			default:
				rs.info(o, field, "added label %s=%q: %s", k, want, whyFor(group, kind, k))
			}
		}
		if group == bmoGroup {
			if _, ok := rule.Labels[LabelProvider]; ok {
				rs.warn(o, "metadata.labels."+LabelProvider, "the config puts %s on a BMO CRD: `clusterctl delete --include-crd` would delete this CRD and every object of the kind with it", LabelProvider)
			}
		}
	}
}

// whyFor is why(k), plus for a BMO kind why that kind has to move.
func whyFor(group, kind, k string) string {
	w := why(k)
	switch {
	case group == bmoGroup && (k == LabelMove || k == LabelMoveHierarchy):
		p, _ := bmo.Policy(kind)
		w += " (" + kind + ": " + p.Why + ")"
	case group == infraGroup && kind == kindM3DT && k == LabelMove:
		w += " (Metal3DataTemplate: a template may be shared by Clusters, so since CAPM3 1.14 none owns it and its CRD ships with this label)"
	}
	return w
}

func why(k string) string {
	if w, ok := labelWhy[k]; ok {
		return w
	}
	return "the config's label rule names it"
}

// crdInfo is what the owner repair needs to know about a CRD in the bundle.
type crdInfo struct {
	served  map[string]bool
	storage string
	// moved: objects of the kind are moved without an owner chain (move or
	// move-hierarchy label on the CRD).
	moved bool
	// discovered: clusterctl move lists objects of the kind at all.
	discovered bool
	// specRequired are the fields the storage version's schema requires in spec.
	specRequired map[string]bool
}

func readCRD(o *object) (string, string, *crdInfo) {
	group, kind := crdGroupKind(o)
	info := &crdInfo{served: map[string]bool{}, specRequired: map[string]bool{}}
	for _, v := range items(path(o.node, "spec", "versions")) {
		name := str(get(v, "name"))
		if name == "" {
			continue
		}
		if b := get(v, "served"); b == nil || str(b) != "false" {
			info.served[name] = true
		}
		if str(get(v, "storage")) == "true" {
			info.storage = name
			info.specRequired = map[string]bool{}
			for _, f := range items(path(v, "schema", "openAPIV3Schema", "properties", "spec", "required")) {
				info.specRequired[str(f)] = true
			}
		}
	}
	_, move := o.label(LabelMove)
	_, hier := o.label(LabelMoveHierarchy)
	_, disc := o.label(LabelClusterctl)
	info.moved = move || hier
	info.discovered = disc
	return group, kind, info
}
