package webhook

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

// fakeReview answers every review with allowed/err and records what it was
// asked.
type fakeReview struct {
	allowed bool
	err     error
	asked   []string
}

func (f *fakeReview) review(_ context.Context, u authenticationv1.UserInfo, ns, name string) (bool, error) {
	f.asked = append(f.asked, u.Username+" "+ns+"/"+name)
	return f.allowed, f.err
}

// logLines collects log lines.
func logLines() (logr.Logger, *[]string) {
	var lines []string
	return funcr.New(func(prefix, args string) { lines = append(lines, prefix+" "+args) }, funcr.Options{}), &lines
}

// A pause carrying the bypass annotation, on a namespace with a busy host:
// allowed only for a requester the review allows; every attempt is logged
// with user and reason, counted by outcome (never by the free-text reason)
// and audited.
func TestHandlerBypassNeedsPermission(t *testing.T) {
	ctx := context.Background()
	const reason = "host 3 is dead, moving anyway"
	withBypass := mergePatch(t, clusterV1beta2, `{"metadata":{"annotations":{"pivotcheck.dev/allow-unsafe-move":"`+reason+`"}}}`)
	// Added in the same request as the pause: the case the permission is for.
	req := admissionReq("cluster.x-k8s.io", "v1beta2", "Cluster", "UPDATE", "metal3", "test1", clusterV1beta2, mergePatch(t, withBypass, pausePatch), false)
	req.UserInfo = authenticationv1.UserInfo{Username: "alice", Groups: []string{"devs", "system:authenticated"}}
	busy := newFakeClient(bmh("h", bmov1alpha1.StateProvisioning))

	cases := []struct {
		name       string
		review     *fakeReview
		allowed    bool
		reason     string
		code       int32
		msg        []string
		nilReviews bool
	}{
		{name: "allowed", review: &fakeReview{allowed: true}, allowed: true, reason: ReasonBypass},
		{name: "forbidden", review: &fakeReview{}, reason: ReasonBypassForbidden, code: http.StatusForbidden, msg: []string{
			"pivotcheck refuses the pause of Cluster metal3/test1", `pivotcheck.dev/allow-unsafe-move="` + reason + `"`, "alice may not bypass pivotcheck",
			"verb bypass on resource unsafemoves in API group pivotcheck.dev in namespace metal3",
			"kubectl -n metal3 create rolebinding pivotcheck-bypass-alice --clusterrole pivotcheck-unsafe-move-bypass --user alice",
			"kubectl -n metal3 annotate cluster test1 pivotcheck.dev/allow-unsafe-move-",
		}},
		{name: "review fails", review: &fakeReview{err: errors.New("connection refused")}, reason: ReasonBypassReviewError, code: http.StatusServiceUnavailable, msg: []string{"connection refused", "alice"}},
		{name: "no reviewer", nilReviews: true, reason: ReasonBypassReviewError, code: http.StatusServiceUnavailable, msg: []string{"create on subjectaccessreviews"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, counts := newTestHandler(busy, busy)
			log, lines := logLines()
			h.Log = log
			if !c.nilReviews {
				h.Review = c.review.review
			}
			resp := h.Handle(ctx, req)
			require.Equal(t, c.allowed, resp.Allowed, message(resp))
			if !c.nilReviews {
				require.Equal(t, []string{"alice metal3/test1"}, c.review.asked)
			}
			verdict := "denied"
			if c.allowed {
				verdict = "allowed"
			}
			require.Equal(t, map[string]int{"pause/" + verdict + "/" + c.reason: 1}, counts, "counted by outcome, not by the free-text reason")
			require.Equal(t, c.reason, resp.AuditAnnotations["reason"])
			require.Equal(t, "alice", resp.AuditAnnotations["bypass-user"])
			require.Equal(t, reason, resp.AuditAnnotations["bypass-reason"])
			joined := strings.Join(*lines, "\n")
			require.Contains(t, joined, `"bypass annotation"`)
			require.Contains(t, joined, `"user"="alice"`)
			require.Contains(t, joined, `"reason"="`+reason+`"`)
			require.Contains(t, joined, `"outcome"="`+c.reason+`"`)
			if !c.allowed {
				require.Equal(t, c.code, resp.Result.Code)
				for _, m := range c.msg {
					require.Contains(t, message(resp), m)
				}
				require.NotContains(t, strings.TrimSuffix(message(resp), "."), ". ", "one sentence")
			}
		})
	}
}

// The forbidden message is one sentence.
func TestBypassForbiddenIsOneSentence(t *testing.T) {
	o := reviewBypass(context.Background(), (&fakeReview{}).review, authenticationv1.UserInfo{Username: "system:serviceaccount:ci:mover"}, "metal3", "test1", "the pause of Cluster metal3/test1", BypassClusterRole, "r", "remove the annotation")
	require.False(t, o.resp.Allowed)
	msg := o.resp.Result.Message
	require.True(t, strings.HasSuffix(msg, "."))
	require.NotContains(t, strings.TrimSuffix(msg, "."), ". ")
	require.Contains(t, msg, "pivotcheck-bypass-system-serviceaccount-ci-mover")
	require.Contains(t, msg, "--user system:serviceaccount:ci:mover")
}

// An empty value is no bypass: the normal verdict applies and no review is
// made.
func TestHandlerEmptyBypassIsNoBypass(t *testing.T) {
	empty := mergePatch(t, clusterV1beta2, `{"metadata":{"annotations":{"pivotcheck.dev/allow-unsafe-move":""}}}`)
	busy := newFakeClient(bmh("h", bmov1alpha1.StateProvisioning))
	h, _ := newTestHandler(busy, busy)
	f := &fakeReview{allowed: true}
	h.Review = f.review
	resp := h.Handle(context.Background(), admissionReq("cluster.x-k8s.io", "v1beta2", "Cluster", "UPDATE", "metal3", "test1", empty, mergePatch(t, empty, pausePatch), false))
	require.False(t, resp.Allowed)
	require.Equal(t, ReasonHostBusy, resp.AuditAnnotations["reason"])
	require.Empty(t, f.asked)
}

// The target guard: a host arriving with the bypass annotation is created
// only for a requester allowed to bypass in its namespace; otherwise it is
// refused even if it carries a valid status (a bypass attempt is refused,
// not ignored), with the permission to grant.
func TestTargetHandlerBypassNeedsPermission(t *testing.T) {
	host := `{"apiVersion":"metal3.io/v1alpha1","kind":"BareMetalHost","metadata":{"name":"host-0","namespace":"metal3","annotations":{"pivotcheck.dev/allow-unsafe-move":"moving host 7 by hand"}},"spec":{"consumerRef":{"kind":"Metal3Machine","name":"m"}}}`
	req := admissionReq("metal3.io", "v1alpha1", "BareMetalHost", "CREATE", "metal3", "host-0", "", host, false)
	req.UserInfo = authenticationv1.UserInfo{Username: "clusterctl"}
	for _, allowed := range []bool{true, false} {
		counts := map[string]int{}
		f := &fakeReview{allowed: allowed}
		h := &TargetHandler{Review: f.review, Log: logr.Discard(), Record: func(g Gate, a bool, r string) {
			counts[string(g)+"/"+map[bool]string{true: "allowed", false: "denied"}[a]+"/"+r]++
		}}
		resp := h.Handle(context.Background(), req)
		require.Equal(t, allowed, resp.Allowed)
		require.Equal(t, []string{"clusterctl metal3/host-0"}, f.asked)
		require.Equal(t, "moving host 7 by hand", resp.AuditAnnotations["bypass-reason"])
		require.Equal(t, "clusterctl", resp.AuditAnnotations["bypass-user"])
		if allowed {
			require.Equal(t, map[string]int{"target-create/allowed/bypass": 1}, counts)
			continue
		}
		require.Equal(t, map[string]int{"target-create/denied/bypass-forbidden": 1}, counts)
		require.Contains(t, resp.Result.Message, "pivotcheck refuses to create BareMetalHost metal3/host-0 in this cluster")
		require.Contains(t, resp.Result.Message, "--clusterrole "+TargetBypassClusterRole)
		require.Contains(t, resp.Result.Message, "remove the annotation from the source host")
	}
}

// Without a watched BareMetalHost CRD: with the CRD absent (discovery), no
// host exists and the verdict rests on Ironic alone, with a warning on the
// pause; with the CRD present but not watched yet, the request is refused
// in one sentence saying why; a discovery error refuses too.
func TestHandlerWithoutWatchedHosts(t *testing.T) {
	ctx := context.Background()
	pauseReq := admissionReq("cluster.x-k8s.io", "v1beta2", "Cluster", "UPDATE", "metal3", "test1", clusterV1beta2, mergePatch(t, clusterV1beta2, pausePatch), false)
	dfm := admissionReq("infrastructure.cluster.x-k8s.io", "v1beta2", "Metal3Machine", "UPDATE", "metal3", "m0", m3mJSON, jsonPatch(t, m3mJSON, deleteForMovePatch), false)
	empty := newFakeClient()

	for _, c := range []struct {
		name    string
		served  bool
		err     error
		ironic  bool
		allowed bool
		reason  string
		msg     string
	}{
		{name: "no CRD", reason: ReasonNoBMHCRD, msg: "this cluster serves no BareMetalHost CRD (BMO's CRDs are not installed), so it cannot tell whether a host is mid-operation"},
		{name: "no CRD, Ironic runs", ironic: true, reason: ReasonNoBMHCRD, msg: "serves no BareMetalHost CRD"},
		{name: "CRD not watched yet", served: true, reason: ReasonBMHNotWatched, msg: "the BareMetalHost CRD was installed after the webhook started and it is not watching BareMetalHosts yet, so it cannot tell whether a host is mid-operation"},
		{name: "discovery fails", err: errors.New("connection refused"), reason: ReasonReadError, msg: "connection refused"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := empty
			if c.ironic {
				cl = newFakeClient(fixture.IronicDeployment(1, true))
			}
			for _, req := range []admission.Request{pauseReq, dfm} {
				h, _ := newTestHandler(cl, cl)
				h.BMH = &BMHWatch{Served: func(context.Context) (bool, error) { return c.served, c.err }}
				resp := h.Handle(ctx, req)
				require.Equal(t, c.allowed, resp.Allowed, message(resp))
				require.Equal(t, c.reason, resp.AuditAnnotations["reason"])
				require.Contains(t, message(resp), c.msg)
				// Once watched, the hosts are read again.
				h.BMH.MarkWatched()
				h2, _ := newTestHandler(newFakeClient(bmh("h", bmov1alpha1.StateProvisioning)), newFakeClient(bmh("h", bmov1alpha1.StateProvisioning)))
				h2.BMH = h.BMH
				require.False(t, h2.Handle(ctx, req).Allowed)
			}
		})
	}
}

// The namespace label never reaches the webhook; the namespace watch logs
// each change of it and counts the labelled namespaces.
func TestLabelWatch(t *testing.T) {
	log, lines := logLines()
	var gauge float64
	w := &labelWatch{seen: map[string]string{}, log: log, set: func(v float64) { gauge = v }}
	ns := func(name string, labels map[string]string) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	w.observe(ns("a", map[string]string{"other": "x"}), false)
	require.Zero(t, gauge)
	require.Empty(t, *lines)
	w.observe(ns("a", map[string]string{BypassNamespaceLabel: "accepted-risk"}), false)
	w.observe(ns("b", map[string]string{BypassNamespaceLabel: ""}), false)
	require.Equal(t, 2.0, gauge)
	w.observe(ns("a", map[string]string{BypassNamespaceLabel: "accepted-risk"}), false) // resync: no new line
	require.Len(t, *lines, 2)
	require.Contains(t, (*lines)[0], `"namespace"="a"`)
	require.Contains(t, (*lines)[0], `"reason"="accepted-risk"`)
	w.observe(ns("a", nil), false)
	require.Equal(t, 1.0, gauge)
	require.Contains(t, (*lines)[2], "namespace bypass label removed")
	w.observe(toolscache.DeletedFinalStateUnknown{Key: "b", Obj: ns("b", map[string]string{BypassNamespaceLabel: ""})}, true)
	require.Zero(t, gauge)
}
