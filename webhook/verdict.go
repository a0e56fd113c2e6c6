package webhook

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/ironic"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
)

// Gate names one of the two writes of clusterctl move the webhook guards.
type Gate string

const (
	// GatePause is the first write of a move: spec.paused on a Cluster, or
	// the paused annotation on a ClusterClass. Denying it aborts the move
	// before anything is copied.
	GatePause Gate = "pause"
	// GateDeleteForMove is the annotation clusterctl puts on each source
	// object right before deleting it, and that DELETE. Denying it keeps the
	// source object intact.
	GateDeleteForMove Gate = "delete-for-move"
)

// Annotations and labels the webhook reads.
const (
	// BypassAnnotation on a Cluster (or ClusterClass) with a non-empty value
	// (the operator's reason) lets its pause through, and on a BareMetalHost
	// its create in the target, when the requester may bypass (BypassVerb
	// on BypassResource in BypassGroup, in the object's namespace): the
	// handler checks that with a SubjectAccessReview and logs, counts and
	// audits every attempt. An empty value is no bypass.
	BypassAnnotation = "pivotcheck.dev/allow-unsafe-move"
	// BypassNamespaceLabel on a namespace (any value) takes the namespace out
	// of both webhooks through their namespaceSelector, so it works while the
	// webhook is down. Labelling a namespace needs patch on namespaces, a
	// cluster-wide permission far above patching a Cluster; preflight reports
	// the label (check bypass-left).
	BypassNamespaceLabel = "pivotcheck.dev/allow-unsafe-move"
	// DeleteForMoveAnnotation is clusterctl's marker on an object it is
	// about to delete.
	DeleteForMoveAnnotation = clusterctlv1.DeleteForMoveAnnotation
	// ClusterClassPausedAnnotation is how clusterctl pauses a ClusterClass.
	ClusterClassPausedAnnotation = clusterv1.PausedAnnotation
)

// Reasons: the bounded label values of the decisions metric and the audit
// annotation "reason".
const (
	ReasonSafe           = "safe"
	ReasonHostBusy       = "host-busy"
	ReasonIronicRunning  = "ironic-running"
	ReasonHostAndIronic  = "host-busy-and-ironic-running"
	ReasonNotGated       = "not-gated"
	ReasonBypass         = "bypass"
	ReasonCacheNotSynced = "cache-not-synced"
	ReasonReadError      = "read-error"
	ReasonBadRequest     = "bad-request"
	// ReasonNoBMHCRD: the cluster serves no BareMetalHost CRD.
	ReasonNoBMHCRD = "no-baremetalhost-crd"
	// ReasonBMHNotWatched: the BareMetalHost CRD appeared after the webhook
	// started and its hosts are not in the cache yet.
	ReasonBMHNotWatched = "baremetalhosts-not-watched"
)

// Target is the write under review, reduced to what the verdict needs.
type Target struct {
	Gate      Gate
	Operation string // UPDATE or DELETE
	Kind      string // e.g. Cluster, BareMetalHost
	Namespace string
	Name      string
	DryRun    bool
}

func (t Target) describe() string {
	switch {
	case t.Gate == GatePause:
		return fmt.Sprintf("the pause of %s %s/%s (the first write of clusterctl move)", t.Kind, t.Namespace, t.Name)
	case t.Operation == "DELETE":
		return fmt.Sprintf("the deletion of %s %s/%s by clusterctl move", t.Kind, t.Namespace, t.Name)
	default:
		return fmt.Sprintf("the delete-for-move annotation on %s %s/%s (clusterctl move is about to delete it)", t.Kind, t.Namespace, t.Name)
	}
}

// Evidence is what a verdict rests on: the hosts and the running Ironic
// instances read from the cache, or from the API server for a live
// confirmation.
type Evidence struct {
	// Hosts are BareMetalHosts of the request's namespace: every host (live
	// read) or only the candidates the cache index returned (deny path).
	Hosts []*bmov1alpha1.BareMetalHost
	// Ironic are the running Ironic instances of the whole cluster.
	Ironic []ironic.Instance
	// BMO is the cluster's baremetal-operator, nil when none was found.
	BMO *BMOInfo
}

// BMOInfo is what the verdict knows of the cluster's baremetal-operator.
type BMOInfo struct {
	// Deployment is namespace/name of BMO's controller Deployment.
	Deployment string
	// Endpoint is where BMO is configured to reach Ironic (IRONIC_ENDPOINT,
	// or the Ironic Standalone Operator resource it follows); "" when
	// neither can be read.
	Endpoint string
}

// Decision is a gate's verdict and everything said about it (Decide's for
// the pause and delete-for-move gates, DecideTargetCreate's for the target
// guard).
type Decision struct {
	Allowed  bool
	Reason   string
	Message  string
	Warnings []string
	// Busy lists "name state" phrases of the blocking hosts (audit).
	Busy []string
}

// HandedOver reports whether clusterctl already marked h for deletion as
// part of a move: the host was copied to the target, so its own deletion
// (deletionTimestamp) is the move's doing, not a hazard. Without this the
// delete-for-move gate would deny every object deleted after the first BMH.
func HandedOver(h *bmov1alpha1.BareMetalHost) bool {
	_, ok := h.Annotations[DeleteForMoveAnnotation]
	return ok
}

// Considered reports whether h blocks a move now. It is the predicate of
// the cache index, so the deny path reads only hosts for which it holds.
func Considered(h *bmov1alpha1.BareMetalHost) bool {
	return !HandedOver(h) && len(hostsafety.Blocking(h)) > 0
}

// Decide is the verdict: deny while any host of the namespace is blocking
// (hostsafety's rules) or any Ironic still runs; otherwise allow, with
// warnings for the non-blocking hazards. maxListed bounds the names listed
// in a message.
func Decide(t Target, s Evidence, maxListed int) Decision {
	if maxListed <= 0 {
		maxListed = 5
	}
	hosts := append([]*bmov1alpha1.BareMetalHost(nil), s.Hosts...)
	slices.SortFunc(hosts, func(a, b *bmov1alpha1.BareMetalHost) int { return cmp.Compare(a.Name, b.Name) })

	var busy []string
	warn := map[hostsafety.Reason][]string{}
	var warnOrder []hostsafety.Reason
	for _, h := range hosts {
		if HandedOver(h) {
			continue
		}
		var blocking []string
		for _, hz := range hostsafety.Assess(h) {
			if hz.Blocking {
				blocking = append(blocking, hz.Detail)
				continue
			}
			if _, seen := warn[hz.Reason]; !seen {
				warnOrder = append(warnOrder, hz.Reason)
			}
			warn[hz.Reason] = append(warn[hz.Reason], h.Name+" "+hz.Detail)
		}
		if len(blocking) > 0 {
			busy = append(busy, h.Name+" "+strings.Join(blocking, ", "))
		}
	}

	d := Decision{Busy: busy}
	switch {
	case len(busy) > 0 && len(s.Ironic) > 0:
		d.Reason = ReasonHostAndIronic
	case len(busy) > 0:
		d.Reason = ReasonHostBusy
	case len(s.Ironic) > 0:
		d.Reason = ReasonIronicRunning
	default:
		d.Allowed = true
		d.Reason = ReasonSafe
		if w, ok := externalIronicWarning(t, s); ok {
			d.Warnings = append(d.Warnings, w)
		}
		for _, r := range warnOrder {
			d.Warnings = append(d.Warnings, fmt.Sprintf("pivotcheck: %s", hostsafety.Summarize(warn[r], 3)))
		}
		return d
	}

	var b strings.Builder
	fmt.Fprintf(&b, "pivotcheck refuses %s because moving now is unsafe.", t.describe())
	if len(busy) > 0 {
		noun := "BareMetalHosts are"
		if len(busy) == 1 {
			noun = "BareMetalHost is"
		}
		fmt.Fprintf(&b, " %d %s mid-operation in namespace %s: %s.", len(busy), noun, t.Namespace, hostsafety.Summarize(busy, maxListed))
		fmt.Fprintf(&b, " Wait until every host is provisioned, externally provisioned, available or unmanaged, with no servicing/delayed status and no pending reboot.metal3.io or inspect.metal3.io annotation (watch: kubectl -n %s get baremetalhosts -w).", t.Namespace)
	}
	if len(s.Ironic) > 0 {
		items := make([]string, 0, len(s.Ironic))
		for _, in := range s.Ironic {
			items = append(items, fmt.Sprintf("%s; remove it: %s", in, in.Remove))
		}
		fmt.Fprintf(&b, " Ironic still runs in this cluster and would fight the target's Ironic over the provisioning network: %s.", hostsafety.Summarize(items, maxListed))
	}
	b.WriteString(" clusterctl retries for about 2 minutes, so a condition cleared meanwhile lets the move continue.")
	if t.Gate == GatePause {
		// The webhook sees only the write, and a maintenance pause or the
		// pause of `clusterctl move --to-directory` is the same write as a
		// move's first one: say how to get past it.
		fmt.Fprintf(&b, " To pause anyway (at your own risk; a pause that starts no move, such as maintenance or clusterctl move --to-directory, needs it too): kubectl -n %s annotate %s %s %s=\"<reason>\", then remove it (left in place it lets every later move through unchecked); it counts only for users allowed to %s %s.%s here (ClusterRole %s).", t.Namespace, strings.ToLower(t.Kind), t.Name, BypassAnnotation, BypassVerb, BypassResource, BypassGroup, BypassClusterRole)
	} else {
		fmt.Fprintf(&b, " To move anyway (at your own risk): kubectl label namespace %s %s=<reason>.", t.Namespace, BypassNamespaceLabel)
	}
	d.Message = b.String()
	return d
}

// externalIronicWarning: with no Ironic in the cluster, pivotcheck cannot
// tell an Ironic already stopped from one running outside it (local
// containers next to a kind bootstrap are common), and the webhook cannot
// ask. So the pause, where the operator decides, is allowed with a warning
// that names where BMO sends its Ironic calls. Only the pause carries it:
// clusterctl logs every API warning, and the delete-for-move gate sees two
// requests per moved object.
func externalIronicWarning(t Target, s Evidence) (string, bool) {
	if t.Gate != GatePause || len(s.Ironic) > 0 || s.BMO == nil {
		return "", false
	}
	where := "has no Ironic endpoint pivotcheck can read (IRONIC_ENDPOINT in its environment or ConfigMaps)"
	if s.BMO.Endpoint != "" {
		where = "is configured to reach Ironic at " + s.BMO.Endpoint
	}
	return fmt.Sprintf("pivotcheck: no Ironic runs in this cluster, but BMO %s %s. pivotcheck cannot tell an Ironic already stopped from one running outside the cluster (e.g. local containers next to a kind bootstrap): if it still runs, stop it before the target's Ironic starts, or the two fight over the provisioning network.", s.BMO.Deployment, where), true
}
