package fn

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	sigsjson "sigs.k8s.io/json"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
)

// The typed function config.
const (
	ConfigAPIVersion = "fn.pivotcheck.dev/v1alpha1"
	ConfigKind       = "PivotPrep"
)

// DefaultKeepalivedImage is the keepalived image the function adds when the
// config names none: exactly the image BMO v0.13.2's
// ironic-deployment/components/keepalived patch uses. It is untagged because
// BMO stopped publishing versioned keepalived images when keepalived left its
// repository (v0.10), so no tag matches the BMO version; an invented tag
// would leave every rendered Ironic pod waiting for an image that does not
// exist. An untagged image follows "latest": pin a tag or digest you have
// checked with spec.keepalived.image (docs/fn.md, "What it changes, and why").
const DefaultKeepalivedImage = "quay.io/metal3-io/keepalived"

// Label keys clusterctl reads, named by cluster-api itself. The function
// ships only inside the pivotcheck binary, which links cluster-api's API
// packages anyway, so these imports add nothing to its size (clusterctlv1
// adds two small packages to this package's own graph, clusterv1 fifteen,
// all of them already in the binary).
const (
	LabelClusterctl    = clusterctlv1.ClusterctlLabel
	LabelMove          = clusterctlv1.ClusterctlMoveLabel
	LabelMoveHierarchy = clusterctlv1.ClusterctlMoveHierarchyLabel
	LabelProvider      = clusterv1.ProviderNameLabel
)

// PivotPrep is the function config (apiVersion fn.pivotcheck.dev/v1alpha1).
type PivotPrep struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec       Spec              `json:"spec,omitempty"`
}

// Spec configures the three transformations.
type Spec struct {
	Labels     LabelsSpec     `json:"labels,omitempty"`
	Keepalived KeepalivedSpec `json:"keepalived,omitempty"`
	Owners     OwnersSpec     `json:"owners,omitempty"`
}

// LabelsSpec configures clusterctl labels on CRDs.
type LabelsSpec struct {
	// Disabled turns the CRD labelling off.
	Disabled bool `json:"disabled,omitempty"`
	// Rules are tried before the defaults; the first rule matching a CRD wins.
	Rules []LabelRule `json:"rules,omitempty"`
	// NoDefaults drops the built-in rules (CAPM3, IPAM, BMO).
	NoDefaults bool `json:"noDefaults,omitempty"`
	// OverwriteProvider replaces a conflicting cluster.x-k8s.io/provider value
	// instead of leaving it and warning.
	OverwriteProvider bool `json:"overwriteProvider,omitempty"`
}

// LabelRule gives labels to the CRDs it matches.
type LabelRule struct {
	// Group is the CRD's spec.group (required).
	Group string `json:"group"`
	// Kind is the CRD's spec.names.kind; a trailing "*" matches a prefix; empty matches every kind of the group.
	Kind string `json:"kind,omitempty"`
	// Labels are set on the CRD; values are usually "".
	Labels map[string]string `json:"labels"`
}

// KeepalivedSpec configures the ironic-endpoint-keepalived container.
type KeepalivedSpec struct {
	Disabled bool `json:"disabled,omitempty"`
	// Image of the keepalived container the function adds (default
	// DefaultKeepalivedImage). When set, an existing keepalived container is
	// moved to it too; when not, an existing container keeps its own image.
	Image string `json:"image,omitempty"`
	// ProvisioningIP becomes PROVISIONING_IP on the keepalived container.
	ProvisioningIP string `json:"provisioningIP,omitempty"`
	// ProvisioningInterface becomes PROVISIONING_INTERFACE on the keepalived container.
	ProvisioningInterface string `json:"provisioningInterface,omitempty"`
	// IronicSelector finds the Ironic workloads (defaults below).
	IronicSelector *IronicSelector `json:"ironicSelector,omitempty"`
}

// IronicSelector says which Deployments and DaemonSets run Ironic. A workload
// matches when any of the three criteria matches.
type IronicSelector struct {
	// Names of workloads (default baremetal-operator-ironic, metal3-ironic).
	Names []string `json:"names,omitempty"`
	// PodLabels all present on the pod template (default name: ironic).
	PodLabels map[string]string `json:"podLabels,omitempty"`
	// ContainerNames: the first container with one of these names is the
	// Ironic container whose envFrom keepalived copies (default ironic).
	ContainerNames []string `json:"containerNames,omitempty"`
}

// OwnersSpec configures the owner-reference repair.
type OwnersSpec struct {
	Disabled bool `json:"disabled,omitempty"`
	// KeepUIDOwnerReferences keeps ownerReferences that carry a uid (e.g. when
	// restoring into the very cluster they came from); by default they are
	// removed because in a new cluster they are dangling.
	KeepUIDOwnerReferences bool `json:"keepUIDOwnerReferences,omitempty"`
}

// Config is the validated, defaulted config the decisions read.
type Config struct {
	Spec
	selector IronicSelector
	rules    []LabelRule
	// provisioningInterfaceGiven: the field was present, so "" is an error
	// rather than "not configured".
	provisioningInterfaceGiven bool
	// imageGiven: the config names an image, so an existing keepalived
	// container is moved to it; without one, a user's own pinned image is
	// kept rather than replaced by the untagged default.
	imageGiven bool
}

func defaultRules() []LabelRule {
	rules := []LabelRule{
		// CAPM3 1.14 ships this CRD with the move label itself: templates are
		// shared by Clusters and no longer owned by one (spec.clusterName is
		// deprecated). The label moves every template on any CAPM3 version.
		{Group: infraGroup, Kind: kindM3DT, Labels: map[string]string{LabelClusterctl: "", LabelMove: "", LabelProvider: "infrastructure-metal3"}},
		{Group: infraGroup, Kind: "Metal3*", Labels: map[string]string{LabelClusterctl: "", LabelProvider: "infrastructure-metal3"}},
		{Group: ipamGroup, Labels: map[string]string{LabelClusterctl: "", LabelProvider: "ipam-metal3"}},
	}
	// BMO kinds, as internal/bmo decides them from BMO's controllers: every
	// kind that holds user intent moves with its host; the two BMO rebuilds
	// in the target get an explicit rule without labels, so the catch-all
	// below does not label them. No provider label on any BMO CRD:
	// `clusterctl delete --include-crd` would then delete the BareMetalHost
	// CRD and every host with it.
	for _, k := range bmo.Kinds {
		rules = append(rules, LabelRule{Group: bmoGroup, Kind: k.Kind, Labels: labelSet(k.Labels)})
	}
	// A metal3.io kind this release does not know (a newer BMO) moves too.
	return append(rules, LabelRule{Group: bmoGroup, Labels: labelSet(bmo.UnknownKindLabels)})
}

func labelSet(keys []string) map[string]string {
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[k] = ""
	}
	return m
}

func defaultSelector() IronicSelector {
	return IronicSelector{
		Names:          []string{"baremetal-operator-ironic", "metal3-ironic"},
		PodLabels:      map[string]string{"name": "ironic"},
		ContainerNames: []string{"ironic"},
	}
}

// DefaultConfig is the config used when the function gets none.
func DefaultConfig() *Config {
	c, _ := newConfig(Spec{}, false) // the zero spec is always valid
	return c
}

func newConfig(s Spec, ifaceGiven bool) (*Config, error) {
	c := &Config{Spec: s, provisioningInterfaceGiven: ifaceGiven, imageGiven: s.Keepalived.Image != ""}
	if c.Keepalived.Image == "" {
		c.Keepalived.Image = DefaultKeepalivedImage
	}
	c.selector = defaultSelector()
	if sel := s.Keepalived.IronicSelector; sel != nil {
		// Each criterion given replaces its default; an empty list turns it off.
		if sel.Names != nil {
			c.selector.Names = sel.Names
		}
		if sel.PodLabels != nil {
			c.selector.PodLabels = sel.PodLabels
		}
		if sel.ContainerNames != nil {
			c.selector.ContainerNames = sel.ContainerNames
		}
	}
	c.rules = append([]LabelRule(nil), s.Labels.Rules...)
	if !s.Labels.NoDefaults {
		c.rules = append(c.rules, defaultRules()...)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) validate() error {
	k := c.Keepalived
	if k.ProvisioningIP != "" {
		if _, err := netip.ParseAddr(k.ProvisioningIP); err != nil || strings.Contains(k.ProvisioningIP, "%") {
			return fmt.Errorf("config field spec.keepalived.provisioningIP: %q is not an IPv4 or IPv6 address", k.ProvisioningIP)
		}
	}
	if k.ProvisioningInterface != "" || c.provisioningInterfaceGiven {
		if err := validInterfaceName(k.ProvisioningInterface); err != nil {
			return fmt.Errorf("config field spec.keepalived.provisioningInterface: %w", err)
		}
	}
	if strings.TrimSpace(k.Image) != k.Image || strings.ContainsAny(k.Image, " \t\n") {
		return fmt.Errorf("config field spec.keepalived.image: %q contains whitespace", k.Image)
	}
	for i, r := range c.Labels.Rules {
		if r.Group == "" {
			return fmt.Errorf("config field spec.labels.rules[%d].group is empty", i)
		}
		if len(r.Labels) == 0 {
			return fmt.Errorf("config field spec.labels.rules[%d].labels is empty", i)
		}
		if strings.Contains(strings.TrimSuffix(r.Kind, "*"), "*") {
			return fmt.Errorf("config field spec.labels.rules[%d].kind: only a trailing * is supported in %q", i, r.Kind)
		}
	}
	return nil
}

// validInterfaceName applies the Linux rules (IFNAMSIZ 16 with the NUL).
func validInterfaceName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("interface name is empty")
	case len(s) > 15:
		return fmt.Errorf("interface name %q is longer than 15 characters", s)
	case s == "." || s == "..":
		return fmt.Errorf("interface name %q is not allowed", s)
	}
	for _, r := range s {
		if r == '/' || r == ':' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("interface name %q contains %q", s, r)
		}
	}
	return nil
}

// ParseConfig turns the ResourceList's functionConfig into a Config: nil or
// an empty node gives the defaults; a PivotPrep is decoded strictly; a
// ConfigMap (kpt's `-- key=value` form) is read key by key.
func ParseConfig(fc *kyaml.RNode) (*Config, error) {
	if fc == nil || fc.IsNilOrEmpty() {
		return DefaultConfig(), nil
	}
	if fc.YNode().Kind != kyaml.MappingNode {
		return nil, fmt.Errorf("functionConfig is not a mapping")
	}
	apiVersion, kind := fc.GetApiVersion(), fc.GetKind()
	switch {
	case kind == "ConfigMap" && apiVersion == "v1":
		return configFromConfigMap(fc)
	case kind == ConfigKind && apiVersion == ConfigAPIVersion:
		return configFromTyped(fc)
	default:
		return nil, fmt.Errorf("functionConfig %s %q: want apiVersion %s kind %s, or a v1 ConfigMap", describeGVK(apiVersion, kind), fc.GetName(), ConfigAPIVersion, ConfigKind)
	}
}

func describeGVK(apiVersion, kind string) string {
	if apiVersion == "" && kind == "" {
		return "without apiVersion and kind"
	}
	return apiVersion + "/" + kind
}

func configFromTyped(fc *kyaml.RNode) (*Config, error) {
	js, err := fc.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("functionConfig %s %q: %w", ConfigKind, fc.GetName(), err)
	}
	var pp PivotPrep
	// LoadFunctionConfig ignores unknown fields and encoding/json matches
	// names case-insensitively: a typo must not silently turn a
	// transformation back on, so decode strictly and case-sensitively.
	strict, err := sigsjson.UnmarshalStrict(js, &pp)
	if err == nil && len(strict) > 0 {
		err = errors.Join(strict...)
	}
	if err != nil {
		return nil, fmt.Errorf("functionConfig %s %q: %w", ConfigKind, fc.GetName(), err)
	}
	given := false
	if n, _ := fc.Pipe(kyaml.Lookup("spec", "keepalived", "provisioningInterface")); n != nil {
		given = true
	}
	c, err := newConfig(pp.Spec, given)
	if err != nil {
		return nil, fmt.Errorf("functionConfig %s %q: %w", ConfigKind, fc.GetName(), err)
	}
	return c, nil
}

// ConfigMap keys (kpt fn eval -- key=value).
var configMapKeys = []string{
	"provisioningIP", "provisioningInterface", "keepalivedImage",
	"disableLabels", "disableKeepalived", "disableOwners",
	"overwriteProvider", "keepUIDOwnerReferences",
}

func configFromConfigMap(fc *kyaml.RNode) (*Config, error) {
	name := fc.GetName()
	var s Spec
	data := fc.Field("data")
	if data != nil && !kyaml.IsMissingOrNull(data.Value) {
		if data.Value.YNode().Kind != kyaml.MappingNode {
			return nil, fmt.Errorf("functionConfig ConfigMap %q: data is not a mapping", name)
		}
		content := data.Value.YNode().Content
		var ifaceGiven bool
		for i := 0; i+1 < len(content); i += 2 {
			k, v := content[i].Value, content[i+1].Value
			if content[i+1].Kind != kyaml.ScalarNode {
				return nil, fmt.Errorf("functionConfig ConfigMap %q: data.%s is not a string", name, k)
			}
			var err error
			switch k {
			case "provisioningIP":
				s.Keepalived.ProvisioningIP = v
			case "provisioningInterface":
				s.Keepalived.ProvisioningInterface = v
				ifaceGiven = true
			case "keepalivedImage":
				s.Keepalived.Image = v
			case "disableLabels":
				s.Labels.Disabled, err = strconv.ParseBool(v)
			case "disableKeepalived":
				s.Keepalived.Disabled, err = strconv.ParseBool(v)
			case "disableOwners":
				s.Owners.Disabled, err = strconv.ParseBool(v)
			case "overwriteProvider":
				s.Labels.OverwriteProvider, err = strconv.ParseBool(v)
			case "keepUIDOwnerReferences":
				s.Owners.KeepUIDOwnerReferences, err = strconv.ParseBool(v)
			default:
				keys := slices.Sorted(slices.Values(configMapKeys))
				return nil, fmt.Errorf("functionConfig ConfigMap %q: unknown key data.%s (known: %s)", name, k, strings.Join(keys, ", "))
			}
			if err != nil {
				return nil, fmt.Errorf("functionConfig ConfigMap %q: data.%s: %q is not a boolean", name, k, v)
			}
		}
		return configMapConfig(name, s, ifaceGiven)
	}
	return configMapConfig(name, s, false)
}

func configMapConfig(name string, s Spec, ifaceGiven bool) (*Config, error) {
	c, err := newConfig(s, ifaceGiven)
	if err != nil {
		return nil, fmt.Errorf("functionConfig ConfigMap %q: %w", name, err)
	}
	return c, nil
}
