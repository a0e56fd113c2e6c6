package move

import (
	"encoding/json"
	"strings"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
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
