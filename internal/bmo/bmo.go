package bmo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/version"

	"github.com/pivotcheck/pivotcheck/internal/podenv"
)

// Where BMO's kustomize deployment puts its controller, with the default
// name prefix.
const (
	Namespace      = "baremetal-operator-system"
	DeploymentName = "baremetal-operator-controller-manager"
	// ImageRepoSuffix ends the repository of every BMO image
	// (quay.io/metal3-io/baremetal-operator, a mirror, a fork).
	ImageRepoSuffix = "/baremetal-operator"
)

// ConditionsSince is the first BMO release whose host status carries
// `conditions`; an older webhook rejects an annotation that has them
// (it decodes with unknown fields disallowed).
var ConditionsSince = version.MustParseGeneric("0.13.0")

// SplitImage splits an image reference into repository and tag, dropping a
// digest ("repo:tag@sha256:..." and "repo@sha256:..." both work).
func SplitImage(image string) (repo, tag string) {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	slash := strings.LastIndex(image, "/")
	if colon := strings.LastIndex(image, ":"); colon > slash {
		return image[:colon], image[colon+1:]
	}
	return image, ""
}

// ParseVersion reads a BMO version from an image tag: v0.13.2, 0.13,
// release-0.13, v0.13.2-rc.1. It returns nil for tags that name no version
// (latest, main, a digest only, "").
func ParseVersion(tag string) *version.Version {
	v, err := version.ParseGeneric(strings.TrimPrefix(tag, "release-"))
	if err != nil {
		return nil
	}
	return v
}

// IsController reports whether container c of Deployment d is BMO's
// manager: by image repository, or by the Deployment's name (any prefix)
// and the container name kustomize gives it.
func IsController(d *appsv1.Deployment, c *corev1.Container) bool {
	repo, _ := SplitImage(c.Image)
	return strings.HasSuffix(repo, ImageRepoSuffix) || (strings.HasSuffix(d.Name, DeploymentName) && c.Name == "manager")
}

// Find returns BMO's controller Deployment among deps (any namespace, any
// name prefix) and the tag of its image ("" when untagged); nil when none.
func Find(deps []appsv1.Deployment) (*appsv1.Deployment, string) {
	for i := range deps {
		d := &deps[i]
		for j := range d.Spec.Template.Spec.Containers {
			c := &d.Spec.Template.Spec.Containers[j]
			if IsController(d, c) {
				_, tag := SplitImage(c.Image)
				return d, tag
			}
		}
	}
	return nil, ""
}

// EncodeStatus renders host status the way the status annotation carries
// it: without hardware details (HardwareData restores them), keys sorted so
// equal statuses give equal annotations. It refuses a status BMO's webhook
// would reject (so a write is never half-applied), and drops `conditions`
// when the target BMO predates them. target nil means unknown: keep all.
func EncodeStatus(st bmov1alpha1.BareMetalHostStatus, target *version.Version) (string, error) {
	if err := CheckStatus(&st); err != nil {
		return "", err
	}
	st.HardwareDetails = nil
	raw, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("encoding host status: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", fmt.Errorf("re-decoding host status: %w", err)
	}
	delete(m, "hardware")
	if target != nil && target.LessThan(ConditionsSince) {
		delete(m, "conditions")
	}
	// encoding/json writes map keys sorted.
	out, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encoding host status: %w", err)
	}
	return string(out), nil
}

// CheckStatus applies the value rules BMO's webhook applies to the status
// annotation (apis OperationalStatusAllowed and ErrorTypeAllowed): a host
// that is servicing, or in detach or servicing error, cannot carry one.
func CheckStatus(st *bmov1alpha1.BareMetalHostStatus) error {
	if !slices.Contains(bmov1alpha1.OperationalStatusAllowed, string(st.OperationalStatus)) {
		return fmt.Errorf("operationalStatus %q cannot be carried in the %s annotation (BMO's webhook rejects it): wait until the host leaves it", st.OperationalStatus, bmov1alpha1.StatusAnnotation)
	}
	if !slices.Contains(bmov1alpha1.ErrorTypeAllowed, string(st.ErrorType)) {
		return fmt.Errorf("errorType %q cannot be carried in the %s annotation (BMO's webhook rejects it): clear the error first", st.ErrorType, bmov1alpha1.StatusAnnotation)
	}
	return nil
}

// DecodeStatus decodes an annotation the way BMO's webhook does (unknown
// fields disallowed) and applies CheckStatus; with a known target version
// older than ConditionsSince, `conditions` is an error too.
func DecodeStatus(raw string, target *version.Version) (*bmov1alpha1.BareMetalHostStatus, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	st := &bmov1alpha1.BareMetalHostStatus{}
	if err := dec.Decode(st); err != nil {
		return nil, fmt.Errorf("does not parse into BareMetalHostStatus: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("has trailing data after the JSON object")
	}
	if err := CheckStatus(st); err != nil {
		return nil, err
	}
	if target != nil && target.LessThan(ConditionsSince) {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal([]byte(raw), &keys); err == nil {
			if _, ok := keys["conditions"]; ok {
				return nil, fmt.Errorf("carries conditions, which the target's BMO %s does not know", target)
			}
		}
	}
	return st, nil
}

// IronicEndpoint says where the BMO Deployment d sends its Ironic calls,
// read from its manager container's environment (env, or the ConfigMaps
// of its envFrom; cms may hold every ConfigMap of the cluster):
// IRONIC_ENDPOINT, or, when BMO is set up for the Ironic Standalone
// Operator, the Ironic resource IRONIC_NAMESPACE/IRONIC_NAME. ok is false
// when neither is configured (or d is nil).
func IronicEndpoint(d *appsv1.Deployment, cms []corev1.ConfigMap) (endpoint string, ok bool) {
	if d == nil {
		return "", false
	}
	for i := range d.Spec.Template.Spec.Containers {
		c := &d.Spec.Template.Spec.Containers[i]
		if !IsController(d, c) {
			continue
		}
		env := podenv.Resolve(*c, d.Namespace, cms)
		if e := strings.TrimSpace(env["IRONIC_ENDPOINT"]); e != "" {
			return e, true
		}
		if name := env["IRONIC_NAME"]; name != "" {
			ns := env["IRONIC_NAMESPACE"]
			if ns == "" {
				ns = d.Namespace
			}
			return fmt.Sprintf("Ironic resource %s/%s (Ironic Standalone Operator)", ns, name), true
		}
	}
	return "", false
}
