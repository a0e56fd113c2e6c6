package webhook

import (
	"fmt"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
)

// The target guard (`pivotcheck webhook --mode target`, config/target) runs
// in the cluster a move copies into. It refuses to create a BareMetalHost
// whose status would be lost: a consumed or externally provisioned host
// without a restorable baremetalhost.metal3.io/status annotation, which the
// target's BMO would register from scratch and inspect or re-provision.
//
// clusterctl v1.13.6 reads the source object again at every create attempt
// (createTargetObject runs its GET inside retryWithExponentialBackoff, in
// cmd/clusterctl/client/cluster/mover.go), so a refused create is retried
// for about 2 minutes and goes through as soon as CAPM3 has annotated the
// source host: a race becomes a retry instead of a wiped node.

// GateTargetCreate is the target guard's gate: the CREATE of a BareMetalHost.
const GateTargetCreate Gate = "target-create"

// TargetPath is the path config/target/manifests.yaml calls.
const TargetPath = "/validate-target-host"

// Reasons of the target guard (metric label and audit annotation).
const (
	ReasonStatusCarried = "status-carried"
	ReasonStatusMissing = "status-missing"
	ReasonStatusInvalid = "status-invalid"
	ReasonReinspect     = "will-reinspect"
)

// NeedsStatus reports whether a host must arrive with its status: it runs a
// workload (consumed by a machine) or was handed over already provisioned.
// Registered from scratch, BMO would inspect it and, for a consumed host,
// deploy its image again.
func NeedsStatus(h *bmov1alpha1.BareMetalHost) bool {
	return h.Spec.ConsumerRef != nil || h.Spec.ExternallyProvisioned
}

// CarriedStatus checks the status annotation of h the way the target's BMO
// would restore it: it must decode under BMO's webhook rules and name a
// provisioning state (an empty state is a host registered from scratch).
// present is false when there is no annotation at all.
func CarriedStatus(h *bmov1alpha1.BareMetalHost) (present bool, err error) {
	raw, ok := h.Annotations[bmov1alpha1.StatusAnnotation]
	if !ok {
		return false, nil
	}
	st, err := bmo.DecodeStatus(raw, nil)
	if err != nil {
		return true, err
	}
	if st.Provisioning.State == "" {
		return true, fmt.Errorf("it names no provisioning state")
	}
	return true, nil
}

// DecideTargetCreate is the target guard's decision for the CREATE of h. It
// reads nothing but h, so it is cheap and cannot fail on a read.
func DecideTargetCreate(h *bmov1alpha1.BareMetalHost) Decision {
	key := h.Namespace + "/" + h.Name
	if h.Annotations[BypassAnnotation] != "" {
		return Decision{Allowed: true, Reason: ReasonBypass}
	}
	present, err := CarriedStatus(h)
	if present && err == nil {
		return Decision{Allowed: true, Reason: ReasonStatusCarried}
	}
	if !NeedsStatus(h) {
		w := fmt.Sprintf("pivotcheck: BareMetalHost %s has no %s annotation: this cluster's BMO registers and inspects it from scratch (expected for a new host; a copied spare host loses its status)", key, bmov1alpha1.StatusAnnotation)
		if present {
			// Kept short: the API server truncates warnings past 256 characters.
			w = fmt.Sprintf("pivotcheck: BareMetalHost %s has an invalid %s annotation: BMO restores nothing from it and inspects the host from scratch", key, bmov1alpha1.StatusAnnotation)
		}
		return Decision{Allowed: true, Reason: ReasonReinspect, Warnings: []string{w}}
	}

	what := "externally provisioned (spec.externallyProvisioned)"
	if c := h.Spec.ConsumerRef; c != nil {
		what = fmt.Sprintf("consumed by %s %s (spec.consumerRef)", c.Kind, c.Name)
	}
	d := Decision{Reason: ReasonStatusMissing}
	lacks := fmt.Sprintf("carries no %s annotation", bmov1alpha1.StatusAnnotation)
	if present {
		d.Reason = ReasonStatusInvalid
		lacks = fmt.Sprintf("carries a %s annotation BMO cannot restore (%v)", bmov1alpha1.StatusAnnotation, err)
	}
	d.Message = fmt.Sprintf("pivotcheck refuses to create BareMetalHost %s in this cluster: it is %s but %s, "+
		"so this cluster's baremetal-operator would register it from scratch and inspect or re-provision the running machine. "+
		"Let its status come with it: with clusterctl move, CAPM3 writes the annotation on the source host once the move pauses the Cluster, "+
		"and clusterctl retries this create for about 2 minutes, reading the source host again each time; "+
		"or run `pivotcheck move`, which writes it before anything is copied "+
		"(a source host paused by hand never gets it from CAPM3: write it there, or remove that pause). "+
		"To create it anyway (at your own risk): kubectl -n %s annotate baremetalhost %s %s=\"<reason>\" in the source, "+
		"or kubectl label namespace %s %s=<reason> here.",
		key, what, lacks, h.Namespace, h.Name, BypassAnnotation, h.Namespace, BypassNamespaceLabel)
	return d
}
