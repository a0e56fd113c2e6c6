package move

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

func provisionedStatus() bmov1alpha1.BareMetalHostStatus {
	now := metav1.Now()
	return bmov1alpha1.BareMetalHostStatus{
		OperationalStatus: bmov1alpha1.OperationalStatusOK, LastUpdated: &now, PoweredOn: true,
		Provisioning:    bmov1alpha1.ProvisionStatus{State: bmov1alpha1.StateProvisioned, ID: "abc"},
		HardwareDetails: &bmov1alpha1.HardwareDetails{Hostname: "h"},
		Conditions:      []metav1.Condition{{Type: "Progressing", Status: metav1.ConditionFalse, Reason: "NotProgressing", LastTransitionTime: now}},
	}
}

func TestStatusAnnotation(t *testing.T) {
	st := provisionedStatus()
	ann, err := StatusAnnotation(st, bmo.ParseVersion("v0.13.2"))
	require.NoError(t, err)
	require.NotContains(t, ann, `"hardware"`)
	require.Contains(t, ann, `"conditions"`)
	// Keys sorted: the annotation is stable across runs.
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(ann), &m))
	keys := []string{}
	for part := range strings.SplitSeq(strings.Trim(ann, "{}"), `,"`) {
		if i := strings.Index(part, `":`); i > 0 && !strings.Contains(part[:i], "{") {
			keys = append(keys, strings.Trim(part[:i], `"`))
		}
	}
	require.IsIncreasing(t, keys[:3])
	// BMO decodes it back to the same status (minus hardware).
	var back bmov1alpha1.BareMetalHostStatus
	require.NoError(t, json.Unmarshal([]byte(ann), &back))
	require.Equal(t, st.Provisioning, back.Provisioning)
	require.Nil(t, back.HardwareDetails)

	// A target BMO older than v0.13 rejects conditions.
	old, err := StatusAnnotation(st, bmo.ParseVersion("v0.12.3"))
	require.NoError(t, err)
	require.NotContains(t, old, `"conditions"`)

	st.OperationalStatus = bmov1alpha1.OperationalStatusServicing
	_, err = StatusAnnotation(st, nil)
	require.ErrorContains(t, err, "servicing")
}

func host(name string, ann map[string]string) bmov1alpha1.BareMetalHost {
	return bmov1alpha1.BareMetalHost{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Annotations: ann, UID: "uid-" + "h"}, Status: provisionedStatus()}
}

func TestPlanHostHandover(t *testing.T) {
	st := provisionedStatus()
	ann, err := StatusAnnotation(st, nil)
	require.NoError(t, err)
	hosts := []bmov1alpha1.BareMetalHost{
		host("plain", nil),
		host("foreign", map[string]string{bmov1alpha1.PausedAnnotation: "ops"}),
		host("capm3", map[string]string{bmov1alpha1.PausedAnnotation: hostsafety.CAPM3PauseValue, bmov1alpha1.StatusAnnotation: "{}"}),
		host("done", map[string]string{bmov1alpha1.PausedAnnotation: hostsafety.PivotcheckPauseValue, bmov1alpha1.StatusAnnotation: ann}),
	}
	acts, warns, err := PlanHostHandover(hosts, nil)
	require.NoError(t, err)
	by := map[string]HostAction{}
	for _, a := range acts {
		by[a.Name] = a
	}
	// One patch with both annotations.
	want := by["plain"].Patch["metadata"].(map[string]any)["annotations"].(map[string]any)
	require.Equal(t, hostsafety.PivotcheckPauseValue, want[bmov1alpha1.PausedAnnotation])
	require.Equal(t, ann, want[bmov1alpha1.StatusAnnotation])
	// Never overwrite someone else's pause.
	require.Nil(t, by["foreign"].Patch)
	require.Contains(t, by["foreign"].Skip, "ops")
	require.Len(t, warns, 1)
	// A consumed host paused by someone else without annotation would lose
	// its status: refused before anything is written.
	consumed := host("consumed-foreign", map[string]string{bmov1alpha1.PausedAnnotation: "ops"})
	consumed.Spec.ConsumerRef = &corev1.ObjectReference{Name: "m3m"}
	_, _, err = PlanHostHandover([]bmov1alpha1.BareMetalHost{consumed}, nil)
	require.ErrorContains(t, err, "consumed-foreign")
	// CAPM3 already handed it over.
	require.Nil(t, by["capm3"].Patch)
	// Idempotent on resume.
	require.Nil(t, by["done"].Patch)
}

// TestHostHandoverCarriesTheFreshStatus: the hand-over is planned, then
// two hosts change before their patch is sent (BMO saved a new status on
// one; the other started inspecting). The patch carries the
// resourceVersion of the planned host, so both meet a conflict: the first
// is written with its fresh status, the second refused naming its new
// state and left unpaused.
func TestHostHandoverCarriesTheFreshStatus(t *testing.T) {
	needEnv(t)
	ctx := t.Context()
	const ns = "stale-host"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	_, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, Workers: 1})
	require.NoError(t, err)
	c := pair.Bootstrap.Client
	d := &driver{opts: Options{Namespace: ns}, log: testLog(t), src: c, dst: pair.Target.Client, report: &Report{}}
	actions, _, _, err := d.planHosts(ctx)
	require.NoError(t, err)
	var todo []HostAction
	for _, a := range actions {
		if a.Patch != nil {
			require.NotEmpty(t, a.ResourceVersion, a.Name)
			todo = append(todo, a)
		}
	}
	require.GreaterOrEqual(t, len(todo), 2)
	changed, busy := todo[0], todo[1]

	h := &bmov1alpha1.BareMetalHost{}
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: changed.Name}, h))
	h.Status.Provisioning.ID = "fresh-ironic-node-id"
	h.Status.LastUpdated = &metav1.Time{Time: h.Status.LastUpdated.Add(time.Minute)}
	require.NoError(t, c.Status().Update(ctx, h))
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: busy.Name}, h))
	h.Status.Provisioning.State = bmov1alpha1.StateInspecting
	require.NoError(t, c.Status().Update(ctx, h))

	n, err := d.patchHosts(ctx, []HostAction{changed}, false)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: changed.Name}, h))
	require.Equal(t, hostsafety.PivotcheckPauseValue, h.Annotations[bmov1alpha1.PausedAnnotation])
	var st bmov1alpha1.BareMetalHostStatus
	require.NoError(t, json.Unmarshal([]byte(h.Annotations[bmov1alpha1.StatusAnnotation]), &st))
	require.Equal(t, "fresh-ironic-node-id", st.Provisioning.ID, "the annotation must carry the status the host has now")

	_, err = d.patchHosts(ctx, []HostAction{busy}, false)
	require.ErrorContains(t, err, "BareMetalHost "+ns+"/"+busy.Name+" changed after the checks and now is inspecting")
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: busy.Name}, h))
	require.NotContains(t, h.Annotations, bmov1alpha1.PausedAnnotation)
	require.NotContains(t, h.Annotations, bmov1alpha1.StatusAnnotation)
}

func TestReplanHost(t *testing.T) {
	h := host("h0", nil)
	h.Status.Provisioning.ID = "fresh"
	a, err := ReplanHost(&h, nil)
	require.NoError(t, err)
	require.NotNil(t, a)
	ann := a.Patch["metadata"].(map[string]any)["annotations"].(map[string]any)
	require.Contains(t, ann[bmov1alpha1.StatusAnnotation], `"fresh"`)

	h.Status.Provisioning.State = bmov1alpha1.StateProvisioning
	_, err = ReplanHost(&h, nil)
	require.EqualError(t, err, "BareMetalHost ns/h0 changed after the checks and now is provisioning: it was not handed over; resume once it is steady again")

	h = host("h1", map[string]string{bmov1alpha1.PausedAnnotation: "someone", bmov1alpha1.StatusAnnotation: "{}"})
	a, err = ReplanHost(&h, nil)
	require.NoError(t, err)
	require.Nil(t, a, "paused by someone else meanwhile: nothing left to write")
}
