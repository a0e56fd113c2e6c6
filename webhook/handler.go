package webhook

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/sync/singleflight"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
)

// Defaults.
const (
	DefaultReadTimeout = 3 * time.Second
	DefaultMaxListed   = 5
	// DefaultTrustFor outlasts the quiet stretch of a move between its
	// pause and its first delete-for-move (clusterctl creates every object
	// in the target meanwhile, and may wait for block-move): a longer gap
	// costs one more live confirmation, nothing else.
	DefaultTrustFor = 10 * time.Minute
)

// Handler is the admission.Handler of both gates.
type Handler struct {
	// Cache is the informer cache with HostIndex registered on BareMetalHosts.
	Cache client.Reader
	// Live reads straight from the API server: an allowed pause, and the
	// first allowed delete-for-move of a namespace not trusted yet, need a
	// live read that agrees with the cache.
	Live client.Reader
	// LiveHosts reads every host of a namespace when more than MaxStale
	// differ from the cache (Setup: a HostProjection); nil lists them in
	// full through Live.
	LiveHosts HostLister
	// Workloads are the Deployments/DaemonSets that run Ironic.
	Workloads []ironic.Workload
	// IrSO is the GVK of the Ironic Standalone Operator's Ironic kind, nil
	// when its CRD is not installed.
	IrSO *schema.GroupVersionKind
	// Synced reports whether the cache has synced; before that every gated
	// request is denied with 503.
	Synced func() bool
	// ReadTimeout bounds all reads of one request together (cache and
	// live), well inside the 5 s webhook timeout so the API server gets our
	// message, not a timeout.
	ReadTimeout time.Duration
	// MaxListed bounds the names listed in a message.
	MaxListed int
	// TrustFor is how long the delete-for-move gate of a namespace answers
	// from the cache alone after a live confirmation allowed a move's write
	// there (a real pause, or a delete-for-move); every allowed write
	// extends it. Default DefaultTrustFor.
	TrustFor time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Record counts a decision (metrics); nil records nothing.
	Record func(gate Gate, allowed bool, reason string)
	// Review checks a requester's permission to bypass (SubjectAccessReview);
	// nil refuses every bypass.
	Review AccessReviewer
	// BMH tracks whether BareMetalHosts are watched; nil means they are
	// (the CRD was installed when the webhook started).
	BMH *BMHWatch
	Log logr.Logger

	flight singleflight.Group

	mu sync.Mutex
	// trusted: namespace -> until when its cache is trusted alone.
	trusted map[string]time.Time
}

var _ admission.Handler = &Handler{}

// Handle implements admission.Handler.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	t, gated, bypass, err := Classify(fromAdmission(req.AdmissionRequest))
	if err != nil {
		return h.respond(t, admission.Errored(http.StatusBadRequest, err), ReasonBadRequest, nil, readNone)
	}
	if !gated {
		return h.respond(t, admission.Allowed("not a pause or delete-for-move transition"), ReasonNotGated, nil, readNone)
	}
	if bypass != "" {
		return h.bypass(ctx, req.UserInfo, t, bypass)
	}
	if h.Synced == nil || !h.Synced() {
		return h.respond(t, admission.Errored(http.StatusServiceUnavailable, fmt.Errorf(
			"pivotcheck webhook is starting and its cache has not synced yet, so it cannot tell whether %s is safe; "+
				"retry in a few seconds (clusterctl retries on its own). %s", t.describe(), bypassHint(t))), ReasonCacheNotSynced, nil, readNone)
	}

	// One budget for every read of this request, well inside the API
	// server's 5 s webhook timeout, so the caller gets our message rather
	// than a timeout.
	ctx, cancel := context.WithTimeout(ctx, h.timeout())
	defer cancel()
	if !h.BMH.Watched() {
		served, err := h.BMH.Served(ctx)
		if err != nil {
			return h.readError(t, "discovery", err)
		}
		if served {
			return h.respond(t, admission.Errored(http.StatusServiceUnavailable, fmt.Errorf(
				"pivotcheck refuses %s because the BareMetalHost CRD was installed after the webhook started and it is not watching BareMetalHosts yet, so it cannot tell whether a host is mid-operation; retry in a few seconds (clusterctl retries on its own). %s",
				t.describe(), bypassHint(t))), ReasonBMHNotWatched, nil, readNone)
		}
		// Fail closed, as everywhere else: a Metal3 bootstrap without
		// BMO's CRDs is an install in the wrong order (or BMO removed
		// while CAPM3 objects remain), and the webhook cannot judge hosts
		// it cannot read. It starts watching them once the CRD appears.
		return h.respond(t, admission.Denied(fmt.Sprintf(
			"pivotcheck refuses %s because this cluster serves no BareMetalHost CRD (BMO's CRDs are not installed), so it cannot tell whether a host is mid-operation; install BMO's CRDs (the webhook starts watching hosts within seconds) or, if this cluster holds no bare-metal hosts, do not deploy the pivotcheck webhook here. %s",
			t.describe(), bypassHint(t))), ReasonNoBMHCRD, nil, readNone)
	}
	snap, err := h.cached(ctx, t)
	if err != nil {
		return h.readError(t, "cache", err)
	}
	d := Decide(t, snap, h.MaxListed)
	read := readCache
	switch {
	case !d.Allowed:
	case t.Gate == GateDeleteForMove && h.isTrusted(t.Namespace):
		// A live confirmation allowed this move's writes here a moment
		// ago: the cache, kept current by its watch, answers alone.
		h.trust(t.Namespace)
	default:
		// The cache may lag a host that just started an operation: confirm
		// against the API server before letting the move go on.
		live, err := h.sharedLive(ctx, t.Namespace)
		if err != nil {
			return h.readError(t, "live", err)
		}
		live.BMO = snap.BMO
		d = Decide(t, live, h.MaxListed)
		read = readLive
		if d.Allowed && (t.Gate == GateDeleteForMove || !t.DryRun) {
			h.trust(t.Namespace)
		}
	}
	if !d.Allowed {
		if t.Gate == GatePause {
			h.distrust(t.Namespace)
		}
		return h.respond(t, admission.Denied(d.Message), d.Reason, &d, read)
	}
	return h.respond(t, admission.Allowed("no BareMetalHost is mid-operation and Ironic is not running").WithWarnings(d.Warnings...), d.Reason, &d, read)
}

// bypass judges the bypass annotation on a pause: it counts only when the
// requester may bypass in the namespace (SubjectAccessReview). Every
// attempt is logged with the user and the reason, counted by outcome and
// carried in the audit annotations.
func (h *Handler) bypass(ctx context.Context, u authenticationv1.UserInfo, t Target, reason string) admission.Response {
	ctx, cancel := context.WithTimeout(ctx, h.timeout())
	defer cancel()
	undo := fmt.Sprintf("remove the annotation (kubectl -n %s annotate %s %s %s-)", t.Namespace, strings.ToLower(t.Kind), t.Name, BypassAnnotation)
	o := reviewBypass(ctx, h.Review, u, t.Namespace, t.Name, t.describe(), BypassClusterRole, reason, undo)
	logBypass(h.Log, t.Gate, t.Kind, t.Namespace, t.Name, u, reason, o.reason, t.DryRun)
	resp := h.respond(t, o.resp, o.reason, nil, readNone)
	bypassAudit(&resp, u, reason)
	return resp
}

// Which reads a verdict rests on (audit annotation "read").
const (
	readNone  = ""
	readCache = "cache"
	readLive  = "cache+live"
)

// isTrusted reports whether the delete-for-move gate of ns may answer from
// the cache alone. Only the pause, the point of no return, always confirms
// live. Once a live read allowed a move's write in ns, the namespace is
// frozen for the move (its Clusters paused, so CAPI and CAPM3 start
// nothing, and CAPM3 or pivotcheck has paused its hosts), and the cache,
// which follows every change through its watch, answers each of the move's
// two writes per object in O(blocking hosts). Every rule still applies to
// the cache; what is given up is only the live read's guard against the
// cache lagging by a few milliseconds.
func (h *Handler) isTrusted(ns string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	until, ok := h.trusted[ns]
	return ok && h.now().Before(until)
}

func (h *Handler) trust(ns string) {
	d := h.TrustFor
	if d <= 0 {
		d = DefaultTrustFor
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.trusted == nil {
		h.trusted = map[string]time.Time{}
	}
	now := h.now()
	for k, until := range h.trusted { // keep the map small
		if !now.Before(until) {
			delete(h.trusted, k)
		}
	}
	h.trusted[ns] = now.Add(d)
}

// distrust: a refused pause means no move of ns is under way as far as
// this webhook knows; its next delete-for-move confirms live again.
func (h *Handler) distrust(ns string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.trusted, ns)
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func bypassHint(t Target) string {
	if t.Gate == GatePause {
		return fmt.Sprintf("Bypass (at your own risk): kubectl -n %s annotate %s %s %s=\"<reason>\".", t.Namespace, strings.ToLower(t.Kind), t.Name, BypassAnnotation)
	}
	return fmt.Sprintf("Bypass (at your own risk): kubectl label namespace %s %s=<reason>.", t.Namespace, BypassNamespaceLabel)
}

// readError fails closed: a verdict that cannot be computed is a denial.
func (h *Handler) readError(t Target, from string, err error) admission.Response {
	h.Log.Error(err, "read failed, denying", "from", from, "gate", t.Gate, "namespace", t.Namespace, "name", t.Name)
	return h.respond(t, admission.Errored(http.StatusServiceUnavailable, fmt.Errorf(
		"pivotcheck could not read the cluster state (%s read) to check %s, so it refuses it: %w. %s", from, t.describe(), err, bypassHint(t))), ReasonReadError, nil, readNone)
}

// respond answers for the pause and delete-for-move gates (see answer).
func (h *Handler) respond(t Target, resp admission.Response, reason string, d *Decision, read string) admission.Response {
	busy := 0
	if d != nil {
		busy = len(d.Busy)
	}
	return answer(h.Log, h.Record, t, resp, reason, busy, read)
}

// answer is the one way every gate answers: audit annotations on every
// response, the metric for a gated request, a log line for each denial
// (and, at V(1), each gated allowance). busy is the number of blocking
// hosts found; read where the cluster was read (readNone: not at all).
func answer(log logr.Logger, record func(Gate, bool, string), t Target, resp admission.Response, reason string, busy int, read string) admission.Response {
	verdict := "denied"
	if resp.Allowed {
		verdict = "allowed"
	}
	gate := string(t.Gate)
	if gate == "" {
		gate = "none"
	}
	resp.AuditAnnotations = map[string]string{
		"gate":    gate,
		"verdict": verdict,
		"reason":  reason,
		"dry-run": strconv.FormatBool(t.DryRun),
	}
	if busy > 0 {
		resp.AuditAnnotations["busy-hosts"] = strconv.Itoa(busy)
	}
	if read != readNone {
		resp.AuditAnnotations["read"] = read
	}
	if record != nil && t.Gate != "" && reason != ReasonNotGated {
		record(t.Gate, resp.Allowed, reason)
	}
	switch {
	case !resp.Allowed:
		msg := ""
		if resp.Result != nil {
			msg = resp.Result.Message
		}
		log.Info("denied", "gate", t.Gate, "operation", t.Operation, "kind", t.Kind, "namespace", t.Namespace, "name", t.Name,
			"reason", reason, "dryRun", t.DryRun, "message", msg)
	case reason != ReasonNotGated:
		log.V(1).Info("allowed", "gate", t.Gate, "kind", t.Kind, "namespace", t.Namespace, "name", t.Name, "reason", reason, "dryRun", t.DryRun)
	}
	return resp
}

func (h *Handler) timeout() time.Duration {
	if h.ReadTimeout > 0 {
		return h.ReadTimeout
	}
	return DefaultReadTimeout
}
