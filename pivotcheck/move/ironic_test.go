package move

import (
	"errors"
	"slices"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
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
		{name: "delete what runs", in: IronicInput{Mode: HandoverDelete, Running: running}, stop: 1, note: "", errMatch: ""},
		{name: "scale what runs", in: IronicInput{Mode: HandoverScaleToZero, Running: running}, stop: 1, note: "", errMatch: ""},
		{name: "none runs, nothing said: refuse naming the endpoint", in: IronicInput{Mode: HandoverDelete, Endpoint: ep}, stop: 0, note: "",
			errMatch: "no Ironic runs in the source cluster and its BMO sends Ironic calls to " + ep + ": pivotcheck cannot tell"},
		{name: "none runs, endpoint unknown", in: IronicInput{Mode: HandoverDelete}, stop: 0, note: "", errMatch: "its BMO's Ironic endpoint could not be read"},
		{name: "none runs, probe answered", in: IronicInput{Mode: HandoverDelete, Endpoint: ep, Probe: answered}, stop: 0, note: "", errMatch: "answered HTTP 401, so an Ironic runs outside the cluster"},
		{name: "resume after pivotcheck stopped it", in: IronicInput{Mode: HandoverDelete, Recorded: []string{"Deployment bmo/ironic"}}, stop: 0, note: "already stopped by this move's first attempt", errMatch: ""},
		{name: "external without confirmation", in: IronicInput{Mode: HandoverExternal}, stop: 0, note: "", errMatch: "needs --confirm-external-ironic-stopped"},
		{name: "external confirmed", in: IronicInput{Mode: HandoverExternal, ConfirmExternal: true, Endpoint: ep}, stop: 0, note: "external Ironic confirmed stopped", errMatch: ""},
		{name: "external confirmed, probe silent", in: IronicInput{Mode: HandoverExternal, ConfirmExternal: true, Endpoint: ep, Probe: silent}, stop: 0, note: "did not answer", errMatch: ""},
		{name: "external confirmed, probe answered", in: IronicInput{Mode: HandoverExternal, ConfirmExternal: true, Endpoint: ep, Probe: answered}, stop: 0, note: "", errMatch: "says the source Ironic is stopped, but"},
		{name: "external but one runs in the cluster", in: IronicInput{Mode: HandoverExternal, ConfirmExternal: true, Running: running}, stop: 0, note: "", errMatch: "still runs in the source cluster"},
		{name: "already removed", in: IronicInput{Mode: HandoverAlreadyRemoved}, stop: 0, note: "stated already removed", errMatch: ""},
		{name: "already removed but runs", in: IronicInput{Mode: HandoverAlreadyRemoved, Running: running}, stop: 0, note: "", errMatch: "use --ironic-handover=delete"},
		{name: "unknown mode", in: IronicInput{Mode: "later"}, stop: 0, note: "", errMatch: "unknown --ironic-handover"},
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
		{name: "just created", u: irso(1, nil), want: "no Ready condition yet"},
		{name: "in progress", u: irso(1, &metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "DeploymentInProgress", ObservedGeneration: 1}), want: "Ready is False: DeploymentInProgress"},
		{name: "ready for an older generation", u: irso(2, &metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "DeploymentAvailable", ObservedGeneration: 1}), want: "generation 1, the resource is at 2"},
		{name: "ready", u: irso(2, &metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "DeploymentAvailable", ObservedGeneration: 2}), want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := unavailable(ironic.Objects{IrSO: []unstructured.Unstructured{tc.u}}, in)
			if tc.want == "" {
				require.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			require.Contains(t, got[0], tc.want)
		})
	}
}

// TestWildcardIronicWorkloadRefused: --ironic-workload '*/*' matches BMO
// and every other Deployment; the move refuses in its read-only checks,
// naming the pattern and a workload it wrongly matched, and nothing is
// written (no host paused, BMO still there).
func TestWildcardIronicWorkloadRefused(t *testing.T) {
	needEnv(t)
	ctx := t.Context()
	const ns = "wildcard"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	_, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1})
	require.NoError(t, err)
	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	opts.IronicWorkloads = append(slices.Clone(ironic.DefaultWorkloads), ironic.Workload{Namespace: "*", Name: "*"})
	rep, err := Run(ctx, opts)
	require.Error(t, err)
	require.Equal(t, PhaseChecks, rep.FailedPhase)
	require.Contains(t, err.Error(), `--ironic-workload "*/*" matches Deployment `)
	require.Contains(t, err.Error(), "the Ironic hand-over would stop it")
	hosts := &bmov1alpha1.BareMetalHostList{}
	require.NoError(t, pair.Bootstrap.Client.List(ctx, hosts, client.InNamespace(ns)))
	for _, h := range hosts.Items {
		require.NotContains(t, h.Annotations, bmov1alpha1.PausedAnnotation, h.Name)
	}
	require.NoError(t, pair.Bootstrap.Client.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: "baremetal-operator-controller-manager"}, &appsv1.Deployment{}))
}
