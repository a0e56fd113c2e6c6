package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

// fullHost is a host as BMO writes it: every field the verdict ignores is
// filled too, so a projection that dropped one the verdict reads would show.
func fullHost(name string, state bmov1alpha1.ProvisioningState, op bmov1alpha1.OperationalStatus, mut ...func(*bmov1alpha1.BareMetalHost)) *bmov1alpha1.BareMetalHost {
	h := host(name, state, op, mut...)
	h.TypeMeta = metav1.TypeMeta{APIVersion: bmov1alpha1.GroupVersion.String(), Kind: "BareMetalHost"}
	h.Labels = map[string]string{"cluster.x-k8s.io/cluster-name": "test1"}
	h.Finalizers = []string{"baremetalhost.metal3.io"}
	h.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "baremetal-operator", Operation: metav1.ManagedFieldsOperationUpdate, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:status":{"f:poweredOn":{}}}`)}}
	h.Spec.Online = true
	h.Spec.BootMACAddress = "00:5c:52:31:3a:9c"
	h.Spec.BMC = bmov1alpha1.BMCDetails{Address: "redfish+http://192.168.111.1:8000/redfish/v1/Systems/" + name, CredentialsName: name + "-bmc"}
	h.Status.HardwareDetails = &bmov1alpha1.HardwareDetails{Hostname: name, RAMMebibytes: 16384, CPU: bmov1alpha1.CPU{Arch: "x86_64", Count: 8}}
	h.Status.Provisioning.ID = "00000000-0000-4000-8000-000000000001"
	h.Status.Provisioning.BootMode = bmov1alpha1.UEFI
	h.Status.ErrorMessage = "the last error, if any"
	return h
}

func poweredOn(h *bmov1alpha1.BareMetalHost) { h.Status.PoweredOn = true }

// hazardHosts covers every hostsafety rule and HandedOver.
func hazardHosts() []*bmov1alpha1.BareMetalHost {
	now := metav1.Now()
	ok := bmov1alpha1.OperationalStatusOK
	return []*bmov1alpha1.BareMetalHost{
		fullHost("provisioned", bmov1alpha1.StateProvisioned, ok, consumed, annotated(bmov1alpha1.StatusAnnotation, "{}")),
		fullHost("provisioning", bmov1alpha1.StateProvisioning, ok),
		fullHost("no-state", "", ""),
		fullHost("inspecting", bmov1alpha1.StateInspecting, ok),
		fullHost("servicing", bmov1alpha1.StateProvisioned, bmov1alpha1.OperationalStatusServicing),
		fullHost("delayed", bmov1alpha1.StateProvisioned, bmov1alpha1.OperationalStatusDelayed),
		fullHost("error", bmov1alpha1.StateProvisioned, bmov1alpha1.OperationalStatusError, func(h *bmov1alpha1.BareMetalHost) { h.Status.ErrorType = bmov1alpha1.ProvisionedRegistrationError }),
		fullHost("error-no-type", bmov1alpha1.StateAvailable, bmov1alpha1.OperationalStatusError),
		fullHost("detached", bmov1alpha1.StateProvisioned, bmov1alpha1.OperationalStatusDetached),
		fullHost("reboot", bmov1alpha1.StateProvisioned, ok, annotated("reboot.metal3.io/capm3-remediation", "")),
		fullHost("reinspect", bmov1alpha1.StateAvailable, ok, annotated("inspect.metal3.io", "")),
		fullHost("deleting", bmov1alpha1.StateProvisioned, ok, func(h *bmov1alpha1.BareMetalHost) { h.DeletionTimestamp = &now }),
		fullHost("user-paused", bmov1alpha1.StateProvisioned, ok, consumed, annotated(bmov1alpha1.PausedAnnotation, "someone")),
		fullHost("user-paused-carried", bmov1alpha1.StateProvisioned, ok, consumed, annotated(bmov1alpha1.PausedAnnotation, "someone"), annotated(bmov1alpha1.StatusAnnotation, "{}")),
		fullHost("no-status", bmov1alpha1.StateProvisioned, ok, consumed),
		fullHost("paused-no-status", bmov1alpha1.StateProvisioned, ok, consumed, annotated(bmov1alpha1.PausedAnnotation, hostsafety.CAPM3PauseValue)),
		fullHost("spare-on", bmov1alpha1.StateAvailable, ok, poweredOn),
		fullHost("spare-off", bmov1alpha1.StateAvailable, ok),
		fullHost("handed-over", bmov1alpha1.StateProvisioning, ok, annotated(DeleteForMoveAnnotation, "")),
	}
}

// listJSON renders hosts as the API server lists them.
func listJSON(t *testing.T, cont string, hosts []*bmov1alpha1.BareMetalHost) string {
	t.Helper()
	items := make([]bmov1alpha1.BareMetalHost, len(hosts))
	for i, h := range hosts {
		items[i] = *h
	}
	l := bmov1alpha1.BareMetalHostList{TypeMeta: metav1.TypeMeta{APIVersion: "metal3.io/v1alpha1", Kind: "BareMetalHostList"},
		ListMeta: metav1.ListMeta{ResourceVersion: "42", Continue: cont}, Items: items}
	raw, err := json.Marshal(l)
	require.NoError(t, err)
	return string(raw)
}

// A host reduced to hostView has the same hazards as the full object, so
// the verdict over projected hosts is the verdict over full ones.
func TestHostViewKeepsEveryHazard(t *testing.T) {
	full := hazardHosts()
	var conts []string
	got, err := decodeHostList(strings.NewReader(listJSON(t, "next-page", full)), func(c string) { conts = append(conts, c) })
	require.NoError(t, err)
	require.Equal(t, []string{"next-page"}, conts)
	require.Len(t, got, len(full))
	for i, h := range full {
		require.Equal(t, h.Name, got[i].Name)
		require.Equal(t, hostsafety.Assess(h), hostsafety.Assess(got[i]), h.Name)
		require.Equal(t, HandedOver(h), HandedOver(got[i]), h.Name)
		require.Equal(t, Considered(h), Considered(got[i]), h.Name)
	}
	for _, tgt := range []Target{
		{Gate: GatePause, Kind: "Cluster", Namespace: "metal3", Name: "test1"},
		{Gate: GateDeleteForMove, Operation: "DELETE", Kind: "Metal3Machine", Namespace: "metal3", Name: "m0"},
	} {
		// Every host, and only the non-blocking ones (an allowed verdict with its warnings).
		var safe, safeGot []*bmov1alpha1.BareMetalHost
		for i, h := range full {
			if !Considered(h) {
				safe, safeGot = append(safe, h), append(safeGot, got[i])
			}
		}
		require.Equal(t, Decide(tgt, Evidence{Hosts: full}, 5), Decide(tgt, Evidence{Hosts: got}, 5))
		want := Decide(tgt, Evidence{Hosts: safe}, 5)
		require.True(t, want.Allowed)
		require.NotEmpty(t, want.Warnings)
		require.Equal(t, want, Decide(tgt, Evidence{Hosts: safeGot}, 5))
	}
}

func TestDecodeHostList(t *testing.T) {
	noop := func(string) {}
	// The last page: an empty continue token; items null or empty.
	for _, doc := range []string{
		`{"kind":"BareMetalHostList","apiVersion":"metal3.io/v1alpha1","metadata":{"resourceVersion":"7"},"items":null}`,
		`{"kind":"BareMetalHostList","apiVersion":"metal3.io/v1alpha1","metadata":{"resourceVersion":"7"},"items":[]}`,
	} {
		var conts []string
		got, err := decodeHostList(strings.NewReader(doc), func(c string) { conts = append(conts, c) })
		require.NoError(t, err, doc)
		require.Empty(t, got)
		require.Equal(t, []string{""}, conts)
	}
	// Metadata after the items still yields the token.
	var cont string
	got, err := decodeHostList(strings.NewReader(`{"items":[{"metadata":{"name":"a"},"status":{"provisioning":{"state":"provisioning"}}}],"metadata":{"continue":"c"}}`), func(c string) { cont = c })
	require.NoError(t, err)
	require.Equal(t, "c", cont)
	require.Equal(t, bmov1alpha1.StateProvisioning, got[0].Status.Provisioning.State)
	// A cut or malformed body is an error, never a shorter list.
	whole := listJSON(t, "", hazardHosts())
	for _, bad := range []string{whole[:len(whole)/2], whole[:len(whole)-1], `[]`, `{"items":{}}`, `{"items":[{"metadata":{"name":7}}]}`} {
		_, err := decodeHostList(strings.NewReader(bad), noop)
		require.Error(t, err, fmt.Sprintf("%.60s", bad))
	}
}

// The cache path reads only indexed workloads and pods, and finds what
// ironic.Running finds over every Deployment, DaemonSet and Pod.
func TestCachedIronicIsRunningOverEverything(t *testing.T) {
	ctx := context.Background()
	lbl := map[string]string{"app": "x"}
	tmpl := func(container string, l map[string]string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: container, Image: "i"}}}}
	}
	pod := func(ns, name string, l map[string]string, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l}, Status: corev1.PodStatus{Phase: phase}}
	}
	dep := func(ns, name string, replicas int32, t corev1.PodTemplateSpec) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: t.Labels}, Template: t}}
	}
	var noise []client.Object
	for i := range 30 {
		noise = append(noise, dep(fmt.Sprintf("app-%d", i%3), fmt.Sprintf("app-%d", i), 2, tmpl("main", map[string]string{"app": fmt.Sprintf("app-%d", i)})),
			pod(fmt.Sprintf("app-%d", i%3), fmt.Sprintf("app-%d-pod", i), map[string]string{"app": fmt.Sprintf("app-%d", i)}, corev1.PodRunning))
	}
	cases := map[string][]client.Object{
		"none": nil,
		"named Deployment scaled to 0 with an unlabelled leftover pod": {
			dep(fixture.BMONamespace, fixture.IronicName, 0, tmpl("main", lbl)), pod(fixture.BMONamespace, "leftover", lbl, corev1.PodRunning)},
		"Deployment with an ironic container and its pods": {
			dep("other", "my-ironic", 1, tmpl("ironic", lbl)), pod("other", "p1", lbl, corev1.PodRunning), pod("other", "p2", lbl, corev1.PodSucceeded)},
		"DaemonSet by template label": {&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ds", Name: "ironic-ds"}, Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{ironic.PodLabel: ironic.PodLabelVal}}, Template: tmpl("x", map[string]string{ironic.PodLabel: ironic.PodLabelVal})}}},
		"bare labelled pods": {pod("x", "ironic-0", map[string]string{ironic.PodLabel: ironic.PodLabelVal}, corev1.PodRunning),
			pod("y", "irso-0", map[string]string{ironic.IrSOPodLabel: "ironic"}, corev1.PodPending)},
		"BMO only": {dep(fixture.BMONamespace, fixture.BMOName, 1, corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "manager", Image: "quay.io/metal3-io/baremetal-operator:v0.13.2"}}}})},
	}
	for name, objs := range cases {
		c := newFakeClient(append(append([]client.Object{}, noise...), objs...)...)
		h, _ := newTestHandler(c, c)
		is, bmos, err := h.cachedIronic(ctx)
		require.NoError(t, err, name)
		var deps appsv1.DeploymentList
		var dss appsv1.DaemonSetList
		var pods corev1.PodList
		require.NoError(t, c.List(ctx, &deps))
		require.NoError(t, c.List(ctx, &dss))
		require.NoError(t, c.List(ctx, &pods))
		want := ironic.Running(ironic.Objects{Deployments: deps.Items, DaemonSets: dss.Items, Pods: pods.Items}, ironic.DefaultWorkloads)
		require.Equal(t, want, ironic.Running(is, ironic.DefaultWorkloads), name)
		require.Less(t, len(is.Pods), 5, name)
		wantBMO, _ := bmo.Find(deps.Items)
		gotBMO, _ := bmo.Find(bmos)
		require.Equal(t, wantBMO, gotBMO, name)
	}
}

// Pages are joined in order; a page that fails fails the whole read (the
// verdict then fails closed), never a shorter list.
func TestHostProjectionPages(t *testing.T) {
	hosts := hazardHosts()
	var pages []string
	for start := 0; start < len(hosts); start += 7 {
		end, next := min(start+7, len(hosts)), ""
		if end < len(hosts) {
			next = strconv.Itoa(end)
		}
		pages = append(pages, listJSON(t, next, hosts[start:end]))
	}
	var failSecond atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/apis/metal3.io/v1alpha1/namespaces/metal3/baremetalhosts" || r.URL.Query().Get("limit") != "7" {
			http.Error(w, "unexpected request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		start := 0
		if c := r.URL.Query().Get("continue"); c != "" {
			if failSecond.Load() {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusGone)
				_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"the provided continue parameter is too old","reason":"Expired","code":410}`))
				return
			}
			var err error
			if start, err = strconv.Atoi(c); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(pages[start/7]))
	}))
	defer srv.Close()
	p, err := NewHostProjection(&rest.Config{Host: srv.URL})
	require.NoError(t, err)
	p.PageSize = 7
	got, err := p.ListHosts(context.Background(), "metal3")
	require.NoError(t, err)
	require.Len(t, got, len(hosts))
	for i := range hosts {
		require.Equal(t, hosts[i].Name, got[i].Name)
	}
	failSecond.Store(true)
	_, err = p.ListHosts(context.Background(), "metal3")
	require.Error(t, err)
	require.True(t, apierrors.IsResourceExpired(err), err)
	require.Contains(t, err.Error(), "listing BareMetalHosts in metal3")
}
