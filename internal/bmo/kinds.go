package bmo

import (
	"slices"

	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
)

// Label keys clusterctl reads on a CRD (or on an object), as cluster-api
// names them.
const (
	LabelClusterctl    = clusterctlv1.ClusterctlLabel
	LabelMove          = clusterctlv1.ClusterctlMoveLabel
	LabelMoveHierarchy = clusterctlv1.ClusterctlMoveHierarchyLabel
)

// Group is the API group of every BMO kind.
const Group = "metal3.io"

// KindPolicy says how objects of one metal3.io kind travel in a pivot, as
// decided from BMO v0.13.2's controllers (docs/upstream.md lists why, kind
// by kind). The KRM function's defaults, preflight's label and owner-chain
// checks and the test clusters all read this one table.
type KindPolicy struct {
	Kind string
	// Labels are the clusterctl labels the kind's CRD needs (values "").
	// Empty for a kind BMO regenerates in the target.
	Labels []string
	// Regenerated kinds are rebuilt by the target's BMO from the host and
	// its Ironic; their objects may stay behind.
	Regenerated bool
	// CreatedByBMO kinds are created by BMO itself (empty spec) for every
	// registered host; a user fills their spec later. An object whose
	// generation is above 1 has had its spec edited since.
	CreatedByBMO bool
	// Why is one phrase for results and findings.
	Why string
}

// Kinds are the metal3.io kinds of BMO v0.13.2, in a fixed order.
var Kinds = []KindPolicy{
	{Kind: "BareMetalHost", Labels: []string{LabelClusterctl, LabelMove, LabelMoveHierarchy},
		Why: "hosts have no owner chain to a Cluster; move-hierarchy moves them with everything they own"},
	{Kind: "HardwareData", Labels: []string{LabelClusterctl, LabelMove},
		Why: "BMO rebuilds a host's hardware details from it in the target"},
	{Kind: "HostFirmwareSettings", Labels: []string{LabelClusterctl, LabelMove}, CreatedByBMO: true,
		Why: "spec.settings holds the BIOS settings a user asked for; the target's BMO would create an empty one"},
	{Kind: "HostFirmwareComponents", Labels: []string{LabelClusterctl, LabelMove}, CreatedByBMO: true,
		Why: "spec.updates holds the firmware updates a user asked for; the target's BMO would create an empty one"},
	{Kind: "HostUpdatePolicy", Labels: []string{LabelClusterctl, LabelMove},
		Why: "only a user writes it; BMO makes the host its owner only once it registered the host"},
	{Kind: "DataImage", Labels: []string{LabelClusterctl, LabelMove},
		Why: "only a user writes it: an image to attach to the host as virtual media"},
	{Kind: "BMCEventSubscription", Labels: []string{LabelClusterctl, LabelMove},
		Why: "only a user writes it and nothing owns it; the target's BMO subscribes again in its own Ironic"},
	{Kind: "HostClaim", Labels: []string{LabelClusterctl, LabelMove},
		Why: "only a user writes it and nothing owns it"},
	{Kind: "HostDeployPolicy", Labels: []string{LabelClusterctl, LabelMove},
		Why: "only a user writes it and nothing owns it"},
	{Kind: "PreprovisioningImage", Regenerated: true,
		Why: "BMO creates it from the host's spec and the image builder fills it; the target rebuilds it"},
	{Kind: "FirmwareSchema", Regenerated: true,
		Why: "BMO builds it from what Ironic reports for the hardware model; the target rebuilds it"},
}

// UnknownKindLabels are the labels pivotcheck asks of a metal3.io kind it
// does not know (a newer BMO): moving it is the safe default, because
// leaving user intent behind is silent and a moved object BMO regenerates
// is merely redundant.
var UnknownKindLabels = []string{LabelClusterctl, LabelMove}

// Policy returns the policy of a metal3.io kind; known is false for a kind
// this BMO release does not define (its labels are then UnknownKindLabels).
func Policy(kind string) (p KindPolicy, known bool) {
	i := slices.IndexFunc(Kinds, func(k KindPolicy) bool { return k.Kind == kind })
	if i < 0 {
		return KindPolicy{Kind: kind, Labels: UnknownKindLabels, Why: "a metal3.io kind this pivotcheck release does not know: moved to be safe"}, false
	}
	return Kinds[i], true
}

// MustMove reports whether objects of a metal3.io kind must move with their
// hosts (every kind but the ones BMO regenerates).
func MustMove(kind string) bool {
	p, _ := Policy(kind)
	return !p.Regenerated
}
