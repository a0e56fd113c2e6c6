package scenario

import (
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type states = []bmov1alpha1.ProvisioningState

func TestDisturbed(t *testing.T) {
	before := map[string]bmov1alpha1.ProvisioningState{
		"adopted":     bmov1alpha1.StateProvisioned,
		"reimaged":    bmov1alpha1.StateProvisioned,
		"reinspected": bmov1alpha1.StateAvailable,
		"paused":      bmov1alpha1.StateProvisioned,
		"absent":      bmov1alpha1.StateProvisioned,
	}
	seen := map[string]states{
		// Copied without status, then restored from the annotation.
		"adopted": {"", bmov1alpha1.StateProvisioned},
		// Registered, inspected and provisioned again: a live node wiped.
		"reimaged": {"", bmov1alpha1.StateRegistering, bmov1alpha1.StateInspecting, bmov1alpha1.StateProvisioning, bmov1alpha1.StateProvisioned},
		// Back to available, but only after a new inspection.
		"reinspected": {"", bmov1alpha1.StateRegistering, bmov1alpha1.StateInspecting, bmov1alpha1.StateAvailable},
		"paused":      {""},
	}
	require.Equal(t, []string{"reimaged", "reinspected"}, Disturbed(before, seen))
	require.Empty(t, Disturbed(before, map[string]states{}))
}

func TestSettled(t *testing.T) {
	before := map[string]bmov1alpha1.ProvisioningState{"a": bmov1alpha1.StateProvisioned, "b": bmov1alpha1.StateAvailable}
	host := func(s bmov1alpha1.ProvisioningState, ann map[string]string) *bmov1alpha1.BareMetalHost {
		return &bmov1alpha1.BareMetalHost{ObjectMeta: metav1.ObjectMeta{Annotations: ann}, Status: bmov1alpha1.BareMetalHostStatus{Provisioning: bmov1alpha1.ProvisionStatus{State: s}}}
	}
	ok, pending := Settled(before, map[string]*bmov1alpha1.BareMetalHost{"a": host(bmov1alpha1.StateProvisioned, nil)})
	require.False(t, ok)
	require.Equal(t, "b (not in the target yet)", pending)
	ok, pending = Settled(before, map[string]*bmov1alpha1.BareMetalHost{
		"a": host(bmov1alpha1.StateProvisioned, map[string]string{bmov1alpha1.PausedAnnotation: "metal3.io/capm3"}),
		"b": host(bmov1alpha1.StateInspecting, nil),
	})
	require.False(t, ok)
	require.Equal(t, `a (paused by "metal3.io/capm3"), b ("inspecting", want "available")`, pending)
	ok, _ = Settled(before, map[string]*bmov1alpha1.BareMetalHost{"a": host(bmov1alpha1.StateProvisioned, nil), "b": host(bmov1alpha1.StateAvailable, nil)})
	require.True(t, ok)
}

func TestJourneys(t *testing.T) {
	require.Equal(t, []string{"a: (new) → provisioned", "b: (new)"},
		Journeys(map[string]states{"b": {""}, "a": {"", bmov1alpha1.StateProvisioned}}))
}
