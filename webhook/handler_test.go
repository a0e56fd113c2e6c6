package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/go-logr/logr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/scheme"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

// clusterctl v1.13.6's exact writes (cmd/clusterctl/client/cluster/mover.go).
const (
	pausePatch            = `{"spec":{"paused":true}}`
	deleteForMovePatch    = `[{"op": "add", "path":"/metadata/annotations", "value":{"clusterctl.cluster.x-k8s.io/delete-for-move":""}}]`
	removeFinalizersPatch = `{"metadata":{"finalizers":[]}}`
)

func mergePatch(t testing.TB, doc, patch string) string {
	out, err := jsonpatch.MergePatch([]byte(doc), []byte(patch))
	require.NoError(t, err)
	return string(out)
}

func jsonPatch(t testing.TB, doc, patch string) string {
	p, err := jsonpatch.DecodePatch([]byte(patch))
	require.NoError(t, err)
	out, err := p.Apply([]byte(doc))
	require.NoError(t, err)
	return string(out)
}

func admissionReq(group, version, kind, op, ns, name, oldObj, newObj string, dryRun bool) admission.Request {
	r := admissionv1.AdmissionRequest{
		UID:       "uid",
		Kind:      metav1.GroupVersionKind{Group: group, Version: version, Kind: kind},
		Namespace: ns, Name: name,
		Operation: admissionv1.Operation(op),
		DryRun:    ptr.To(dryRun),
	}
	if oldObj != "" {
		r.OldObject = runtime.RawExtension{Raw: []byte(oldObj)}
	}
	if newObj != "" {
		r.Object = runtime.RawExtension{Raw: []byte(newObj)}
	}
	return admission.Request{AdmissionRequest: r}
}

const (
	clusterV1beta2 = `{"apiVersion":"cluster.x-k8s.io/v1beta2","kind":"Cluster","metadata":{"name":"test1","namespace":"metal3","annotations":{"a":"b"}},"spec":{"controlPlaneRef":{"apiGroup":"controlplane.cluster.x-k8s.io","kind":"KubeadmControlPlane","name":"test1"}}}`
	clusterV1beta1 = `{"apiVersion":"cluster.x-k8s.io/v1beta1","kind":"Cluster","metadata":{"name":"test1","namespace":"metal3"},"spec":{"paused":false}}`
	clusterClass   = `{"apiVersion":"cluster.x-k8s.io/v1beta2","kind":"ClusterClass","metadata":{"name":"cc","namespace":"metal3"},"spec":{}}`
	bmhJSON        = `{"apiVersion":"metal3.io/v1alpha1","kind":"BareMetalHost","metadata":{"name":"test1-host-0","namespace":"metal3","finalizers":["baremetalhost.metal3.io"],"annotations":{"baremetalhost.metal3.io/paused":"metal3.io/capm3","baremetalhost.metal3.io/status":"{}"}},"spec":{"online":true}}`
	m3mJSON        = `{"apiVersion":"infrastructure.cluster.x-k8s.io/v1beta2","kind":"Metal3Machine","metadata":{"name":"m0","namespace":"metal3","finalizers":["metal3machine.infrastructure.cluster.x-k8s.io"]},"spec":{}}`
	ipClaimJSON    = `{"apiVersion":"ipam.metal3.io/v1alpha1","kind":"IPClaim","metadata":{"name":"c0","namespace":"metal3"},"spec":{}}`
	dockerMachine  = `{"apiVersion":"infrastructure.cluster.x-k8s.io/v1beta2","kind":"DockerMachine","metadata":{"name":"d0","namespace":"metal3"},"spec":{}}`
)

func newFakeClient(objs ...client.Object) client.WithWatch {
	return fake.NewClientBuilder().WithScheme(scheme.Scheme).
		WithIndex(&bmov1alpha1.BareMetalHost{}, HostIndex, IndexHost).
		WithIndex(&appsv1.Deployment{}, WorkloadIndex, IndexWorkload(ironic.DefaultWorkloads)).
		WithIndex(&appsv1.DaemonSet{}, WorkloadIndex, IndexWorkload(ironic.DefaultWorkloads)).
		WithIndex(&corev1.Pod{}, WorkloadIndex, IndexWorkload(ironic.DefaultWorkloads)).
		WithObjects(objs...).WithStatusSubresource(&bmov1alpha1.BareMetalHost{}).Build()
}

func newTestHandler(c client.Client, live client.Reader) (*Handler, map[string]int) {
	counts := map[string]int{}
	return &Handler{
		Cache: c, Live: live, Workloads: ironic.DefaultWorkloads, Synced: func() bool { return true },
		MaxListed: 5, Log: logr.Discard(),
		Record: func(g Gate, allowed bool, reason string) {
			v := "denied"
			if allowed {
				v = "allowed"
			}
			counts[string(g)+"/"+v+"/"+reason]++
		},
	}, counts
}

func bmh(name string, state bmov1alpha1.ProvisioningState) *bmov1alpha1.BareMetalHost {
	h := host(name, state, bmov1alpha1.OperationalStatusOK)
	h.Annotations = nil
	return h
}

func message(r admission.Response) string {
	if r.Result == nil {
		return ""
	}
	return r.Result.Message
}

// Each of clusterctl's writes, against a namespace with a provisioning host.
func TestHandlerClusterctlWrites(t *testing.T) {
	ctx := context.Background()
	now := metav1.Now().UTC().Format("2006-01-02T15:04:05Z")
	deleting := func(doc string) string {
		return mergePatch(t, doc, `{"metadata":{"deletionTimestamp":"`+now+`"}}`)
	}
	annotatedBMH := jsonPatch(t, bmhJSON, deleteForMovePatch)
	annotatedM3M := jsonPatch(t, m3mJSON, deleteForMovePatch)
	cases := []struct {
		name  string
		req   admission.Request
		gated bool
		gate  Gate
	}{
		{"pause v1beta2 merge patch", admissionReq("cluster.x-k8s.io", "v1beta2", "Cluster", "UPDATE", "metal3", "test1", clusterV1beta2, mergePatch(t, clusterV1beta2, pausePatch), false), true, GatePause},
		{"pause v1beta1 merge patch", admissionReq("cluster.x-k8s.io", "v1beta1", "Cluster", "UPDATE", "metal3", "test1", clusterV1beta1, mergePatch(t, clusterV1beta1, pausePatch), false), true, GatePause},
		{"pause dry-run", admissionReq("cluster.x-k8s.io", "v1beta2", "Cluster", "UPDATE", "metal3", "test1", clusterV1beta2, mergePatch(t, clusterV1beta2, pausePatch), true), true, GatePause},
		{"clusterclass pause annotation", admissionReq("cluster.x-k8s.io", "v1beta2", "ClusterClass", "UPDATE", "metal3", "cc", clusterClass, mergePatch(t, clusterClass, `{"metadata":{"annotations":{"cluster.x-k8s.io/paused":""}}}`), false), true, GatePause},
		{"delete-for-move JSON patch on BMH (replaces annotations)", admissionReq("metal3.io", "v1alpha1", "BareMetalHost", "UPDATE", "metal3", "test1-host-0", bmhJSON, annotatedBMH, false), true, GateDeleteForMove},
		{"delete-for-move JSON patch on Metal3Machine", admissionReq("infrastructure.cluster.x-k8s.io", "v1beta2", "Metal3Machine", "UPDATE", "metal3", "m0", m3mJSON, annotatedM3M, false), true, GateDeleteForMove},
		{"delete-for-move JSON patch on IPClaim", admissionReq("ipam.metal3.io", "v1alpha1", "IPClaim", "UPDATE", "metal3", "c0", ipClaimJSON, jsonPatch(t, ipClaimJSON, deleteForMovePatch), false), true, GateDeleteForMove},
		{"DELETE of annotated Metal3Machine", admissionReq("infrastructure.cluster.x-k8s.io", "v1beta2", "Metal3Machine", "DELETE", "metal3", "m0", annotatedM3M, "", false), true, GateDeleteForMove},

		{"finalizer removal after DELETE", admissionReq("infrastructure.cluster.x-k8s.io", "v1beta2", "Metal3Machine", "UPDATE", "metal3", "m0", deleting(annotatedM3M), mergePatch(t, deleting(annotatedM3M), removeFinalizersPatch), false), false, GateDeleteForMove},
		{"finalizer removal of BMH", admissionReq("metal3.io", "v1alpha1", "BareMetalHost", "UPDATE", "metal3", "test1-host-0", deleting(annotatedBMH), mergePatch(t, deleting(annotatedBMH), removeFinalizersPatch), false), false, GateDeleteForMove},
		{"unpause", admissionReq("cluster.x-k8s.io", "v1beta2", "Cluster", "UPDATE", "metal3", "test1", mergePatch(t, clusterV1beta2, pausePatch), mergePatch(t, clusterV1beta2, `{"spec":{"paused":null}}`), false), false, GatePause},
		{"already paused", admissionReq("cluster.x-k8s.io", "v1beta2", "Cluster", "UPDATE", "metal3", "test1", mergePatch(t, clusterV1beta2, pausePatch), mergePatch(t, clusterV1beta2, `{"spec":{"paused":true},"metadata":{"labels":{"x":"y"}}}`), false), false, GatePause},
		{"DELETE without annotation", admissionReq("infrastructure.cluster.x-k8s.io", "v1beta2", "Metal3Machine", "DELETE", "metal3", "m0", m3mJSON, "", false), false, GateDeleteForMove},
		{"delete-for-move on a non-Metal3 infra kind", admissionReq("infrastructure.cluster.x-k8s.io", "v1beta2", "DockerMachine", "UPDATE", "metal3", "d0", dockerMachine, jsonPatch(t, dockerMachine, deleteForMovePatch), false), false, ""},
	}
	busy := newFakeClient(bmh("test1-host-0", bmov1alpha1.StateProvisioning), bmh("test1-host-1", bmov1alpha1.StateProvisioned))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, counts := newTestHandler(busy, busy)
			resp := h.Handle(ctx, c.req)
			require.Equal(t, !c.gated, resp.Allowed, message(resp))
			require.Equal(t, string(c.gate), gateAudit(resp), "gate audit")
			if !c.gated {
				require.Equal(t, ReasonNotGated, resp.AuditAnnotations["reason"])
				return
			}
			require.Equal(t, int32(http.StatusForbidden), resp.Result.Code)
			require.Equal(t, "denied", resp.AuditAnnotations["verdict"])
			require.Equal(t, ReasonHostBusy, resp.AuditAnnotations["reason"])
			require.Equal(t, "1", resp.AuditAnnotations["busy-hosts"])
			require.Equal(t, map[string]int{string(c.gate) + "/denied/host-busy": 1}, counts)
			require.Contains(t, message(resp), "test1-host-0 is provisioning")
			require.NotContains(t, message(resp), "test1-host-1")
			if c.req.DryRun != nil && *c.req.DryRun {
				require.Equal(t, "true", resp.AuditAnnotations["dry-run"])
			}
		})
	}

	// The same writes in a safe namespace are allowed, with the warning for a
	// consumed host without status annotation.
	safeHost := bmh("test1-host-0", bmov1alpha1.StateProvisioned)
	consumed(safeHost)
	safe := newFakeClient(safeHost)
	for _, c := range cases {
		if !c.gated {
			continue
		}
		t.Run("safe/"+c.name, func(t *testing.T) {
			h, counts := newTestHandler(safe, safe)
			resp := h.Handle(ctx, c.req)
			require.True(t, resp.Allowed, message(resp))
			require.Equal(t, "allowed", resp.AuditAnnotations["verdict"])
			require.Equal(t, ReasonSafe, resp.AuditAnnotations["reason"])
			require.Equal(t, map[string]int{string(c.gate) + "/allowed/safe": 1}, counts)
			require.Len(t, resp.Warnings, 1)
			require.Contains(t, resp.Warnings[0], "test1-host-0 is consumed but has no baremetalhost.metal3.io/status annotation")
		})
	}
}

func TestHandlerIronic(t *testing.T) {
	ctx := context.Background()
	req := admissionReq("cluster.x-k8s.io", "v1beta2", "Cluster", "UPDATE", "metal3", "test1", clusterV1beta2, mergePatch(t, clusterV1beta2, pausePatch), false)
	c := newFakeClient(bmh("h", bmov1alpha1.StateProvisioned), fixture.IronicDeployment(1, true))
	h, _ := newTestHandler(c, c)
	resp := h.Handle(ctx, req)
	require.False(t, resp.Allowed)
	require.Contains(t, message(resp), "Deployment baremetal-operator-system/baremetal-operator-ironic (replicas 1); remove it: kubectl -n baremetal-operator-system delete deployment baremetal-operator-ironic && kubectl -n baremetal-operator-system wait --for=delete pod -l name=ironic --timeout=5m")
	require.Equal(t, ReasonIronicRunning, resp.AuditAnnotations["reason"])

	// Scaled to zero, no pods left: allowed.
	c = newFakeClient(bmh("h", bmov1alpha1.StateProvisioned), fixture.IronicDeployment(0, true))
	h, _ = newTestHandler(c, c)
	require.True(t, h.Handle(ctx, req).Allowed)
}

func TestHandlerBypassNotSyncedAndReadErrors(t *testing.T) {
	ctx := context.Background()
	bypassed := mergePatch(t, clusterV1beta2, `{"metadata":{"annotations":{"pivotcheck.dev/allow-unsafe-move":"host 3 is dead, moving anyway"}}}`)
	busy := newFakeClient(bmh("h", bmov1alpha1.StateProvisioning))
	pause := admissionReq("cluster.x-k8s.io", "v1beta2", "Cluster", "UPDATE", "metal3", "test1", clusterV1beta2, mergePatch(t, clusterV1beta2, pausePatch), false)

	h, _ := newTestHandler(busy, busy)
	h.Review = func(context.Context, authenticationv1.UserInfo, string, string) (bool, error) { return true, nil }
	resp := h.Handle(ctx, admissionReq("cluster.x-k8s.io", "v1beta2", "Cluster", "UPDATE", "metal3", "test1", bypassed, mergePatch(t, bypassed, pausePatch), false))
	require.True(t, resp.Allowed)
	require.Equal(t, ReasonBypass, resp.AuditAnnotations["reason"])

	h.Synced = func() bool { return false }
	resp = h.Handle(ctx, pause)
	require.False(t, resp.Allowed)
	require.Equal(t, int32(http.StatusServiceUnavailable), resp.Result.Code)
	require.Contains(t, message(resp), "cache has not synced yet")
	require.Equal(t, ReasonCacheNotSynced, resp.AuditAnnotations["reason"])

	// A safe cache but a failing live read: never allow.
	safe := newFakeClient(bmh("h", bmov1alpha1.StateProvisioned))
	failing := interceptor.NewClient(newFakeClient(), interceptor.Funcs{List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
		return errors.New("connection refused")
	}})
	h, counts := newTestHandler(safe, failing)
	resp = h.Handle(ctx, pause)
	require.False(t, resp.Allowed)
	require.Equal(t, int32(http.StatusServiceUnavailable), resp.Result.Code)
	require.Contains(t, message(resp), "connection refused")
	require.Equal(t, map[string]int{"pause/denied/read-error": 1}, counts)

	// A stale cache (host safe there) is overruled by the live read: the
	// host changed since (new resourceVersion), so it is read in full.
	changed := newFakeClient(bmh("h", bmov1alpha1.StateProvisioned))
	fresh := &bmov1alpha1.BareMetalHost{}
	require.NoError(t, changed.Get(ctx, client.ObjectKey{Namespace: "metal3", Name: "h"}, fresh))
	fresh.Status.Provisioning.State = bmov1alpha1.StateProvisioning
	require.NoError(t, changed.Status().Update(ctx, fresh))
	h, _ = newTestHandler(safe, changed)
	resp = h.Handle(ctx, pause)
	require.False(t, resp.Allowed)
	require.Contains(t, message(resp), "h is provisioning")

	// Many changed hosts: every host read at once (LiveHosts; here the full
	// LIST through Live) instead of a GET each.
	var many, manyLive []client.Object
	for i := range MaxStale + 5 {
		many = append(many, bmh(fmt.Sprintf("m%02d", i), bmov1alpha1.StateProvisioned))
		manyLive = append(manyLive, bmh(fmt.Sprintf("m%02d", i), bmov1alpha1.StateProvisioned))
	}
	manyLive[len(manyLive)-1].(*bmov1alpha1.BareMetalHost).Status.Provisioning.State = bmov1alpha1.StateInspecting
	liveC := newFakeClient(manyLive...)
	for _, o := range manyLive { // bump every resourceVersion
		require.NoError(t, liveC.Status().Update(ctx, o))
	}
	h, _ = newTestHandler(newFakeClient(many...), liveC)
	resp = h.Handle(ctx, pause)
	require.False(t, resp.Allowed)
	require.Contains(t, message(resp), fmt.Sprintf("m%02d is inspecting", MaxStale+4))

	// Garbage is a 400, not an allow.
	h, _ = newTestHandler(safe, safe)
	resp = h.Handle(ctx, admissionReq("cluster.x-k8s.io", "v1beta2", "Cluster", "UPDATE", "metal3", "test1", "{", "{", false))
	require.False(t, resp.Allowed)
	require.Equal(t, int32(http.StatusBadRequest), resp.Result.Code)
}

func TestAuditAnnotationKeysAreValid(t *testing.T) {
	// The API server prefixes keys with the webhook name; they must be
	// simple names. json round-trip guards against accidental nesting.
	h, _ := newTestHandler(newFakeClient(), newFakeClient())
	resp := h.Handle(context.Background(), admissionReq("cluster.x-k8s.io", "v1beta2", "Cluster", "UPDATE", "metal3", "test1", clusterV1beta2, mergePatch(t, clusterV1beta2, pausePatch), false))
	raw, err := json.Marshal(resp.AuditAnnotations)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "/")
}

func gateAudit(r admission.Response) string {
	if g := r.AuditAnnotations["gate"]; g != "none" {
		return g
	}
	return ""
}

// countingLive wraps a live reader and counts its reads.
type countingLive struct {
	client.Reader
	reads int
}

func (c *countingLive) List(ctx context.Context, l client.ObjectList, opts ...client.ListOption) error {
	c.reads++
	return c.Reader.List(ctx, l, opts...)
}

func (c *countingLive) Get(ctx context.Context, k client.ObjectKey, o client.Object, opts ...client.GetOption) error {
	c.reads++
	return c.Reader.Get(ctx, k, o, opts...)
}

// The pause always confirms live. After an allowed real pause (or a live
// confirmed delete-for-move), the delete-for-move gate of that namespace
// answers from the cache alone, until TrustFor passes without an allowed
// write, or a pause there is refused. Denials never depend on it.
func TestHandlerTrustAfterAllowedPause(t *testing.T) {
	ctx := context.Background()
	safe := newFakeClient(bmh("h", bmov1alpha1.StateProvisioned))
	live := &countingLive{Reader: safe}
	h, _ := newTestHandler(safe, live)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	h.Now = func() time.Time { return now }
	h.TrustFor = time.Minute

	pause := func(ns string, dryRun bool) admission.Request {
		return admissionReq("cluster.x-k8s.io", "v1beta2", "Cluster", "UPDATE", ns, "test1", clusterV1beta2, mergePatch(t, clusterV1beta2, pausePatch), dryRun)
	}
	annotated := jsonPatch(t, m3mJSON, deleteForMovePatch)
	del := func(ns string) admission.Request {
		return admissionReq("infrastructure.cluster.x-k8s.io", "v1beta2", "Metal3Machine", "DELETE", ns, "m0", annotated, "", false)
	}
	mark := func(ns string) admission.Request {
		return admissionReq("infrastructure.cluster.x-k8s.io", "v1beta2", "Metal3Machine", "UPDATE", ns, "m0", m3mJSON, annotated, false)
	}
	check := func(what string, req admission.Request, allowed bool, read string, liveReads int) admission.Response {
		t.Helper()
		before := live.reads
		resp := h.Handle(ctx, req)
		require.Equal(t, allowed, resp.Allowed, "%s: %s", what, message(resp))
		require.Equal(t, read, resp.AuditAnnotations["read"], what)
		if liveReads == 0 {
			require.Equal(t, before, live.reads, "%s: no live read", what)
		} else {
			require.Greater(t, live.reads, before, "%s: live read", what)
		}
		return resp
	}

	check("a dry-run pause confirms live", pause("metal3", true), true, "cache+live", 1)
	check("and trusts nothing: delete-for-move confirms live", mark("other"), true, "cache+live", 1)
	check("a second delete-for-move there is answered from the cache", del("other"), true, "cache", 0)

	check("a real pause confirms live", pause("metal3", false), true, "cache+live", 1)
	check("delete-for-move annotation after it: cache only", mark("metal3"), true, "cache", 0)
	check("DELETE after it: cache only", del("metal3"), true, "cache", 0)
	check("a pause always confirms live, even in a trusted namespace", pause("metal3", false), true, "cache+live", 1)

	now = now.Add(50 * time.Second)
	check("each allowed write extends the trust", del("metal3"), true, "cache", 0)
	now = now.Add(50 * time.Second)
	check("still trusted 100 s after the pause", del("metal3"), true, "cache", 0)
	now = now.Add(61 * time.Second)
	check("TrustFor without an allowed write: live again", del("metal3"), true, "cache+live", 1)
	check("and trusted again", del("metal3"), true, "cache", 0)

	// A host turns busy in a trusted namespace: the cache denies, as before.
	fresh := &bmov1alpha1.BareMetalHost{}
	require.NoError(t, safe.Get(ctx, client.ObjectKey{Namespace: "metal3", Name: "h"}, fresh))
	fresh.Status.Provisioning.State = bmov1alpha1.StateInspecting
	require.NoError(t, safe.Status().Update(ctx, fresh))
	resp := check("trusted, host busy in the cache: denied", del("metal3"), false, "cache", 0)
	require.Contains(t, message(resp), "h is inspecting")

	// A refused pause ends the trust.
	check("pause refused", pause("metal3", true), false, "cache", 0)
	fresh.Status.Provisioning.State = bmov1alpha1.StateProvisioned
	require.NoError(t, safe.Status().Update(ctx, fresh))
	check("after a refused pause, delete-for-move confirms live again", del("metal3"), true, "cache+live", 1)
}

// A stale cache in a namespace that is not trusted is still overruled by
// the live read on the delete-for-move gate.
func TestHandlerDeleteForMoveConfirmsLiveUntilTrusted(t *testing.T) {
	ctx := context.Background()
	cached := newFakeClient(bmh("h", bmov1alpha1.StateProvisioned))
	changed := newFakeClient(bmh("h", bmov1alpha1.StateProvisioned))
	fresh := &bmov1alpha1.BareMetalHost{}
	require.NoError(t, changed.Get(ctx, client.ObjectKey{Namespace: "metal3", Name: "h"}, fresh))
	fresh.Status.Provisioning.State = bmov1alpha1.StateProvisioning
	require.NoError(t, changed.Status().Update(ctx, fresh))
	h, counts := newTestHandler(cached, changed)
	annotated := jsonPatch(t, m3mJSON, deleteForMovePatch)
	resp := h.Handle(ctx, admissionReq("infrastructure.cluster.x-k8s.io", "v1beta2", "Metal3Machine", "DELETE", "metal3", "m0", annotated, "", false))
	require.False(t, resp.Allowed)
	require.Contains(t, message(resp), "h is provisioning")
	require.Equal(t, "cache+live", resp.AuditAnnotations["read"])
	require.Equal(t, map[string]int{"delete-for-move/denied/host-busy": 1}, counts)
}

// BMO and its Ironic endpoint are read from the cache (Deployment +
// envFrom ConfigMap) and named in the pause's warning when no Ironic runs.
func TestHandlerExternalIronicWarning(t *testing.T) {
	ctx := context.Background()
	bmoDep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "baremetal-operator-system", Name: "baremetal-operator-controller-manager"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "manager", Image: "quay.io/metal3-io/baremetal-operator:v0.13.2",
			EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "baremetal-operator-ironic"}}}},
		}}}}},
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "baremetal-operator-system", Name: "baremetal-operator-ironic"},
		Data:       map[string]string{"IRONIC_ENDPOINT": "https://192.168.111.1:6385/v1/"},
	}
	pause := admissionReq("cluster.x-k8s.io", "v1beta2", "Cluster", "UPDATE", "metal3", "test1", clusterV1beta2, mergePatch(t, clusterV1beta2, pausePatch), true)
	annotated := jsonPatch(t, m3mJSON, deleteForMovePatch)
	del := admissionReq("infrastructure.cluster.x-k8s.io", "v1beta2", "Metal3Machine", "DELETE", "metal3", "m0", annotated, "", false)

	c := newFakeClient(bmh("h", bmov1alpha1.StateProvisioned), bmoDep, cm)
	h, _ := newTestHandler(c, c)
	resp := h.Handle(ctx, pause)
	require.True(t, resp.Allowed, message(resp))
	require.Equal(t, ReasonSafe, resp.AuditAnnotations["reason"])
	require.Len(t, resp.Warnings, 1)
	require.Contains(t, resp.Warnings[0], "BMO baremetal-operator-system/baremetal-operator-controller-manager is configured to reach Ironic at https://192.168.111.1:6385/v1/")

	resp = h.Handle(ctx, del)
	require.True(t, resp.Allowed, message(resp))
	require.Empty(t, resp.Warnings, "the delete-for-move gate does not repeat it")

	// With Ironic running in the cluster the pause is refused; no warning.
	c = newFakeClient(bmh("h", bmov1alpha1.StateProvisioned), bmoDep, cm, fixture.IronicDeployment(1, true))
	h, _ = newTestHandler(c, c)
	resp = h.Handle(ctx, pause)
	require.False(t, resp.Allowed)
	require.Empty(t, resp.Warnings)
}

func TestStripConfigMap(t *testing.T) {
	big := strings.Repeat("x", MaxConfigMapValue+1)
	out, err := stripConfigMap(&corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cm", ResourceVersion: "7",
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": big}, Labels: map[string]string{"a": "b"}},
		Data:       map[string]string{"IRONIC_ENDPOINT": "http://172.22.0.2:6385/v1/", "manifest.yaml": big},
		BinaryData: map[string][]byte{"blob": []byte("x")},
	})
	require.NoError(t, err)
	cm := out.(*corev1.ConfigMap)
	require.Equal(t, "ns/cm@7", cm.Namespace+"/"+cm.Name+"@"+cm.ResourceVersion)
	require.Equal(t, map[string]string{"IRONIC_ENDPOINT": "http://172.22.0.2:6385/v1/"}, cm.Data)
	require.Nil(t, cm.Annotations)
	require.Nil(t, cm.Labels)
	require.Nil(t, cm.BinaryData)
	other, err := stripConfigMap(&corev1.Secret{})
	require.NoError(t, err)
	require.IsType(t, &corev1.Secret{}, other)
}
