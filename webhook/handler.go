package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
)

// HostIndex is the cache index of BareMetalHosts for which Considered holds
// (value "true"): the deny path lists only those, never every host.
const HostIndex = "pivotcheck.dev/blocking"

// Defaults.
const (
	DefaultReadTimeout = 3 * time.Second
	DefaultMaxListed   = 5
)

// Handler is the admission.Handler of both gates.
type Handler struct {
	// Cache is the informer cache with HostIndex registered on BareMetalHosts.
	Cache client.Reader
	// Live reads straight from the API server; an ALLOW is only given after
	// a live read agrees with the cache.
	Live client.Reader
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
	// Record counts a decision (metrics); nil records nothing.
	Record func(gate Gate, allowed bool, reason string)
	Log    logr.Logger

	flight singleflight.Group
}

var _ admission.Handler = &Handler{}

// Handle implements admission.Handler.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	t, gated, bypass, err := Classify(fromAdmission(req.AdmissionRequest))
	if err != nil {
		return h.respond(t, admission.Errored(http.StatusBadRequest, err), ReasonBadRequest, nil)
	}
	if !gated {
		return h.respond(t, admission.Allowed("not a pause or delete-for-move transition"), ReasonNotGated, nil)
	}
	if bypass {
		h.Log.Info("bypass annotation honoured", "gate", t.Gate, "kind", t.Kind, "namespace", t.Namespace, "name", t.Name)
		return h.respond(t, admission.Allowed("bypassed by annotation "+BypassAnnotation), ReasonBypass, nil)
	}
	if h.Synced == nil || !h.Synced() {
		return h.respond(t, admission.Errored(http.StatusServiceUnavailable, fmt.Errorf(
			"pivotcheck webhook is starting and its cache has not synced yet, so it cannot tell whether %s is safe; "+
				"retry in a few seconds (clusterctl retries on its own). %s", t.describe(), bypassHint(t))), ReasonCacheNotSynced, nil)
	}

	// One budget for every read of this request, well inside the API
	// server's 5 s webhook timeout, so the caller gets our message rather
	// than a timeout.
	ctx, cancel := context.WithTimeout(ctx, h.timeout())
	defer cancel()
	snap, err := h.cached(ctx, t.Namespace)
	if err != nil {
		return h.readError(t, "cache", err)
	}
	d := Decide(t, snap, h.MaxListed)
	if d.Allowed {
		// The cache may lag a host that just started an operation: confirm
		// against the API server before letting the move go on.
		live, err := h.sharedLive(ctx, t.Namespace)
		if err != nil {
			return h.readError(t, "live", err)
		}
		d = Decide(t, live, h.MaxListed)
	}
	if !d.Allowed {
		return h.respond(t, admission.Denied(d.Message), d.Reason, &d)
	}
	return h.respond(t, admission.Allowed("no BareMetalHost is mid-operation and Ironic is not running").WithWarnings(d.Warnings...), d.Reason, &d)
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
		"pivotcheck could not read the cluster state (%s read) to check %s, so it refuses it: %w. %s", from, t.describe(), err, bypassHint(t))), ReasonReadError, nil)
}

// respond adds audit annotations (on every decision), records the metric
// and logs denials.
func (h *Handler) respond(t Target, resp admission.Response, reason string, d *Decision) admission.Response {
	verdict := "denied"
	if resp.Allowed {
		verdict = "allowed"
	}
	resp.AuditAnnotations = map[string]string{
		"gate":    string(t.Gate),
		"verdict": verdict,
		"reason":  reason,
		"dry-run": strconv.FormatBool(t.DryRun),
	}
	if t.Gate == "" {
		resp.AuditAnnotations["gate"] = "none"
	}
	if d != nil && len(d.Busy) > 0 {
		resp.AuditAnnotations["busy-hosts"] = strconv.Itoa(len(d.Busy))
	}
	if h.Record != nil && t.Gate != "" {
		h.Record(t.Gate, resp.Allowed, reason)
	}
	if !resp.Allowed {
		msg := ""
		if resp.Result != nil {
			msg = resp.Result.Message
		}
		h.Log.Info("denied", "gate", t.Gate, "operation", t.Operation, "kind", t.Kind, "namespace", t.Namespace, "name", t.Name,
			"reason", reason, "dryRun", t.DryRun, "message", msg)
	} else if reason != ReasonNotGated {
		h.Log.V(1).Info("allowed", "gate", t.Gate, "kind", t.Kind, "namespace", t.Namespace, "name", t.Name, "reason", reason, "dryRun", t.DryRun)
	}
	return resp
}

func (h *Handler) timeout() time.Duration {
	if h.ReadTimeout > 0 {
		return h.ReadTimeout
	}
	return DefaultReadTimeout
}

// cached reads the deny-path snapshot from the informer cache: only the
// indexed (blocking) hosts of the namespace, and the Ironic workloads.
func (h *Handler) cached(ctx context.Context, ns string) (Snapshot, error) {
	var hosts bmov1alpha1.BareMetalHostList
	if err := h.Cache.List(ctx, &hosts, client.InNamespace(ns), client.MatchingFields{HostIndex: "true"}); err != nil {
		return Snapshot{}, fmt.Errorf("listing BareMetalHosts in %s: %w", ns, err)
	}
	var is ironic.Snapshot
	var deps appsv1.DeploymentList
	var dss appsv1.DaemonSetList
	var pods corev1.PodList
	for what, l := range map[string]client.ObjectList{"Deployments": &deps, "DaemonSets": &dss, "Pods": &pods} {
		if err := h.Cache.List(ctx, l); err != nil {
			return Snapshot{}, fmt.Errorf("listing %s: %w", what, err)
		}
	}
	is.Deployments, is.DaemonSets, is.Pods = deps.Items, dss.Items, pods.Items
	if h.IrSO != nil {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(h.IrSO.GroupVersion().WithKind(h.IrSO.Kind + "List"))
		if err := h.Cache.List(ctx, l); err != nil {
			return Snapshot{}, fmt.Errorf("listing %s: %w", h.IrSO.Kind, err)
		}
		is.IrSO = l.Items
	}
	return Snapshot{Hosts: hostPtrs(hosts.Items), Ironic: ironic.Running(is, h.Workloads)}, nil
}

// live reads the allow-path snapshot from the API server, in parallel: the
// namespace's hosts, every Deployment and DaemonSet, and the pods labelled
// as Ironic's. (Unlabelled leftover pods of a named workload are seen in the
// cache only: one LIST less on every allowed request.)
func (h *Handler) live(ctx context.Context, ns string) (Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout())
	defer cancel()
	var (
		hosts []*bmov1alpha1.BareMetalHost
		deps  appsv1.DeploymentList
		dss   appsv1.DaemonSetList
		irso  unstructured.UnstructuredList
	)
	podSelectors := []*corev1.PodList{{}, {}}
	byName, _ := labels.NewRequirement(ironic.PodLabel, selection.Equals, []string{ironic.PodLabelVal})
	irsoLabel, _ := labels.NewRequirement(ironic.IrSOPodLabel, selection.Exists, nil)

	g, gctx := errgroup.WithContext(ctx)
	list := func(what string, l client.ObjectList, opts ...client.ListOption) {
		g.Go(func() error {
			if err := h.Live.List(gctx, l, opts...); err != nil {
				return fmt.Errorf("listing %s: %w", what, err)
			}
			return nil
		})
	}
	g.Go(func() error {
		var err error
		hosts, err = h.liveHosts(gctx, ns)
		return err
	})
	list("Deployments", &deps)
	list("DaemonSets", &dss)
	list("pods labelled "+byName.String(), podSelectors[0], client.MatchingLabelsSelector{Selector: labels.NewSelector().Add(*byName)})
	list("pods labelled "+irsoLabel.String(), podSelectors[1], client.MatchingLabelsSelector{Selector: labels.NewSelector().Add(*irsoLabel)})
	if h.IrSO != nil {
		irso.SetGroupVersionKind(h.IrSO.GroupVersion().WithKind(h.IrSO.Kind + "List"))
		list(h.IrSO.Kind, &irso)
	}
	if err := g.Wait(); err != nil {
		return Snapshot{}, err
	}
	if err := ctx.Err(); err != nil {
		return Snapshot{}, err
	}
	podSeen := map[string]bool{}
	var pods []corev1.Pod
	for _, l := range podSelectors {
		for _, p := range l.Items {
			if k := p.Namespace + "/" + p.Name; !podSeen[k] {
				podSeen[k] = true
				pods = append(pods, p)
			}
		}
	}
	sort.Slice(pods, func(i, j int) bool {
		return pods[i].Namespace+"/"+pods[i].Name < pods[j].Namespace+"/"+pods[j].Name
	})
	is := ironic.Snapshot{Deployments: deps.Items, DaemonSets: dss.Items, Pods: pods, IrSO: irso.Items}
	return Snapshot{Hosts: hosts, Ironic: ironic.Running(is, h.Workloads)}, nil
}

// sharedLive joins concurrent live confirmations of one namespace: a burst
// of gated requests (clusterctl's retries, many dry-run preflights, a load
// test) then costs one set of live reads instead of one per request. A
// joiner gets a read that started at most one read duration before it
// arrived; completed results are never reused.
func (h *Handler) sharedLive(ctx context.Context, ns string) (Snapshot, error) {
	ch := h.flight.DoChan(ns, func() (any, error) {
		// Detached from the first caller's context so its cancellation does
		// not fail the joiners; live() applies the read deadline itself.
		return h.live(context.WithoutCancel(ctx), ns)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Snapshot{}, r.Err
		}
		return r.Val.(Snapshot), nil
	case <-ctx.Done():
		return Snapshot{}, ctx.Err()
	}
}

// MaxStale is how many hosts may differ from the cache before the live
// confirmation reads every host in full instead of one GET each.
const MaxStale = 20

// liveHosts returns the namespace's hosts as the API server has them now.
// A full LIST of thousands of BareMetalHosts (several KB of JSON each) takes
// seconds on a busy control plane, too close to the webhook timeout. So it
// lists metadata only (protobuf, no status) and compares each host's
// resourceVersion with the cached copy: an equal resourceVersion means an
// identical object, so the cached copy is the live one; hosts that differ
// or are missing from the cache are read in full.
func (h *Handler) liveHosts(ctx context.Context, ns string) ([]*bmov1alpha1.BareMetalHost, error) {
	meta := &metav1.PartialObjectMetadataList{}
	meta.SetGroupVersionKind(bmov1alpha1.GroupVersion.WithKind("BareMetalHostList"))
	if err := h.Live.List(ctx, meta, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing BareMetalHosts in %s (metadata): %w", ns, err)
	}
	var cached bmov1alpha1.BareMetalHostList
	if err := h.Cache.List(ctx, &cached, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing cached BareMetalHosts in %s: %w", ns, err)
	}
	byName := make(map[string]*bmov1alpha1.BareMetalHost, len(cached.Items))
	for i := range cached.Items {
		byName[cached.Items[i].Name] = &cached.Items[i]
	}
	out := make([]*bmov1alpha1.BareMetalHost, 0, len(meta.Items))
	var stale []string
	for _, m := range meta.Items {
		if c, ok := byName[m.Name]; ok && c.ResourceVersion == m.ResourceVersion {
			out = append(out, c)
			continue
		}
		stale = append(stale, m.Name)
	}
	if len(stale) > MaxStale {
		var full bmov1alpha1.BareMetalHostList
		if err := h.Live.List(ctx, &full, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("listing BareMetalHosts in %s: %w", ns, err)
		}
		return hostPtrs(full.Items), nil
	}
	for _, name := range stale {
		fresh := &bmov1alpha1.BareMetalHost{}
		if err := h.Live.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, fresh); err != nil {
			if apierrors.IsNotFound(err) {
				continue // deleted since the list
			}
			return nil, fmt.Errorf("reading BareMetalHost %s/%s: %w", ns, name, err)
		}
		out = append(out, fresh)
	}
	return out, nil
}

func hostPtrs(items []bmov1alpha1.BareMetalHost) []*bmov1alpha1.BareMetalHost {
	out := make([]*bmov1alpha1.BareMetalHost, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

// IndexHost is the HostIndex extractor.
func IndexHost(o client.Object) []string {
	h, ok := o.(*bmov1alpha1.BareMetalHost)
	if !ok || !Considered(h) {
		return nil
	}
	return []string{"true"}
}

// Readiness tracks whether the cache synced, for the handler and /readyz.
type Readiness struct{ synced atomic.Bool }

// Synced reports whether the cache synced.
func (r *Readiness) Synced() bool { return r.synced.Load() }

// MarkSynced records a synced cache.
func (r *Readiness) MarkSynced() { r.synced.Store(true) }

// Check is a healthz.Checker for /readyz.
func (r *Readiness) Check(*http.Request) error {
	if !r.Synced() {
		return errors.New("informer cache has not synced yet")
	}
	return nil
}

// stripPod keeps what ironic.Running reads of a pod (labels, deletion,
// phase), so caching every pod of the cluster stays cheap.
func stripPod(o any) (any, error) {
	p, ok := o.(*corev1.Pod)
	if !ok {
		return o, nil
	}
	return &corev1.Pod{
		TypeMeta: p.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion,
			Labels: p.Labels, DeletionTimestamp: p.DeletionTimestamp, OwnerReferences: p.OwnerReferences,
		},
		Status: corev1.PodStatus{Phase: p.Status.Phase},
	}, nil
}
