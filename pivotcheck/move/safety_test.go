package move

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

func TestDecideIronicHandover(t *testing.T) {
	running := []ironic.Instance{{Kind: "Deployment", Namespace: "bmo", Name: "ironic", Why: "replicas 1"}}
	answered := &ironic.ProbeResult{URL: "https://172.22.0.2:6385/v1/nodes", Status: 401}
	silent := &ironic.ProbeResult{URL: "https://172.22.0.2:6385/v1/nodes", Err: errors.New("connection refused")}
	const ep = "https://172.22.0.2:6385/v1/"
	cases := []struct {
		name     string
		in       IronicInput
		stop     int
		note     string
		errMatch string
	}{
		{"delete what runs", IronicInput{Mode: HandoverDelete, Running: running}, 1, "", ""},
		{"scale what runs", IronicInput{Mode: HandoverScaleToZero, Running: running}, 1, "", ""},
		{"none runs, nothing said: refuse naming the endpoint", IronicInput{Mode: HandoverDelete, Endpoint: ep}, 0, "",
			"no Ironic runs in the source cluster and its BMO sends Ironic calls to " + ep + ": pivotcheck cannot tell"},
		{"none runs, endpoint unknown", IronicInput{Mode: HandoverDelete}, 0, "", "its BMO's Ironic endpoint could not be read"},
		{"none runs, probe answered", IronicInput{Mode: HandoverDelete, Endpoint: ep, Probe: answered}, 0, "", "answered HTTP 401, so an Ironic runs outside the cluster"},
		{"resume after pivotcheck stopped it", IronicInput{Mode: HandoverDelete, Recorded: []string{"Deployment bmo/ironic"}}, 0, "already stopped by this move's first attempt", ""},
		{"external without confirmation", IronicInput{Mode: HandoverExternal}, 0, "", "needs --confirm-external-ironic-stopped"},
		{"external confirmed", IronicInput{Mode: HandoverExternal, ConfirmExternal: true, Endpoint: ep}, 0, "external Ironic confirmed stopped", ""},
		{"external confirmed, probe silent", IronicInput{Mode: HandoverExternal, ConfirmExternal: true, Endpoint: ep, Probe: silent}, 0, "did not answer", ""},
		{"external confirmed, probe answered", IronicInput{Mode: HandoverExternal, ConfirmExternal: true, Endpoint: ep, Probe: answered}, 0, "", "says the source Ironic is stopped, but"},
		{"external but one runs in the cluster", IronicInput{Mode: HandoverExternal, ConfirmExternal: true, Running: running}, 0, "", "still runs in the source cluster"},
		{"already removed", IronicInput{Mode: HandoverAlreadyRemoved}, 0, "stated already removed", ""},
		{"already removed but runs", IronicInput{Mode: HandoverAlreadyRemoved, Running: running}, 0, "", "use --ironic-handover=delete"},
		{"unknown mode", IronicInput{Mode: "later"}, 0, "", "unknown --ironic-handover"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stop, note, err := DecideIronicHandover(tc.in)
			if tc.errMatch != "" {
				require.ErrorContains(t, err, tc.errMatch)
				require.Nil(t, stop)
				return
			}
			require.NoError(t, err)
			require.Len(t, stop, tc.stop)
			require.Contains(t, note, tc.note)
		})
	}
}

func TestRetriable(t *testing.T) {
	gr := schema.GroupResource{Group: "metal3.io", Resource: "baremetalhosts"}
	require.True(t, retriable(apierrors.NewConflict(gr, "h", errors.New("changed"))))
	require.True(t, retriable(apierrors.NewServiceUnavailable("down")))
	require.True(t, retriable(apierrors.NewInternalError(errors.New("etcd"))))
	require.True(t, retriable(apierrors.NewTooManyRequests("slow down", 1)))
	require.True(t, retriable(fmt.Errorf("patch: %w", io.ErrUnexpectedEOF)))
	require.False(t, retriable(apierrors.NewForbidden(gr, "h", errors.New("no"))))
	require.False(t, retriable(apierrors.NewBadRequest("denied by webhook")))
	require.False(t, retriable(context.Canceled))

	// A conflict is sent again; a denial is not.
	n := 0
	require.NoError(t, retryWrite(context.Background(), func() error {
		if n++; n < 3 {
			return apierrors.NewConflict(gr, "h", errors.New("changed"))
		}
		return nil
	}))
	require.Equal(t, 3, n)
	n = 0
	require.Error(t, retryWrite(context.Background(), func() error { n++; return apierrors.NewBadRequest("no") }))
	require.Equal(t, 1, n)
}

func TestCountDistinct(t *testing.T) {
	plan := []mover.Object{
		{Group: "ipam.cluster.x-k8s.io", Kind: "IPAddress", Namespace: "ns", Name: "a"},
		{Group: "ipam.metal3.io", Kind: "IPAddress", Namespace: "ns", Name: "a"},
		{Group: "metal3.io", Kind: "BareMetalHost", Namespace: "ns", Name: "h"},
	}
	// clusterctl logged the host three times (retries) and the name shared
	// by both IPAddresses twice: three distinct objects.
	logged := map[mover.Object]bool{{Kind: "BareMetalHost", Namespace: "ns", Name: "h"}: true, {Kind: "IPAddress", Namespace: "ns", Name: "a"}: true}
	require.Equal(t, 3, countDistinct(plan, logged))
	require.Equal(t, 0, countDistinct(plan, nil))
}

func TestIrSOTargetWait(t *testing.T) {
	irso := func(gen int64, cond *metav1.Condition) unstructured.Unstructured {
		u := unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "ironic.metal3.io/v1alpha1", "kind": "Ironic",
			"metadata": map[string]any{"namespace": "ironic", "name": "ironic", "generation": gen},
		}}
		if cond != nil {
			u.Object["status"] = map[string]any{"conditions": []any{map[string]any{
				"type": cond.Type, "status": string(cond.Status), "reason": cond.Reason, "message": "",
				"observedGeneration": cond.ObservedGeneration, "lastTransitionTime": "2026-01-01T00:00:00Z",
			}}}
		}
		return u
	}
	in := []ironic.Instance{{Kind: "Ironic", Namespace: "ironic", Name: "ironic"}}
	cases := []struct {
		name string
		u    unstructured.Unstructured
		want string
	}{
		{"just created", irso(1, nil), "no Ready condition yet"},
		{"in progress", irso(1, &metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "DeploymentInProgress", ObservedGeneration: 1}), "Ready is False: DeploymentInProgress"},
		{"ready for an older generation", irso(2, &metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "DeploymentAvailable", ObservedGeneration: 1}), "generation 1, the resource is at 2"},
		{"ready", irso(2, &metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "DeploymentAvailable", ObservedGeneration: 2}), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := unavailable(ironic.Snapshot{IrSO: []unstructured.Unstructured{tc.u}}, in)
			if tc.want == "" {
				require.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			require.Contains(t, got[0], tc.want)
		})
	}
}
