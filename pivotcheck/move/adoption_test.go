package move

import (
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// What BMO v0.13.2 does to a moved host, step by step, and where each step
// leaves the wait.
func TestAdoptionOf(t *testing.T) {
	before := provisionedStatus() // as the source had it (and the annotation carries it)
	before.GoodCredentials = bmov1alpha1.CredentialsStatus{Reference: &corev1.SecretReference{Name: "h-bmc", Namespace: "ns"}, Version: "111"}
	later := metav1.NewTime(before.LastUpdated.Add(90 * time.Second))
	secret := &BMCSecret{Namespace: "ns", Name: "h-bmc", ResourceVersion: "9876"}
	registered := func(h *bmov1alpha1.BareMetalHost) {
		h.Status.GoodCredentials = bmov1alpha1.CredentialsStatus{Reference: &corev1.SecretReference{Name: "h-bmc", Namespace: "ns"}, Version: "9876"}
		h.Status.LastUpdated = &later
	}
	restored := func(h *bmov1alpha1.BareMetalHost) { h.Status = *before.DeepCopy() }
	cases := []struct {
		name    string
		mut     []func(*bmov1alpha1.BareMetalHost)
		secret  *BMCSecret
		adopted bool
		failed  string // substring of Failed
		state   string // substring of State
	}{
		{name: "still paused by pivotcheck", mut: []func(*bmov1alpha1.BareMetalHost){func(h *bmov1alpha1.BareMetalHost) {
			h.Annotations[bmov1alpha1.PausedAnnotation] = "pivotcheck.dev/move"
			h.Annotations[bmov1alpha1.StatusAnnotation] = "{}"
		}}, secret: secret, state: "still paused (pivotcheck.dev/move)"},
		{name: "annotation not consumed yet", mut: []func(*bmov1alpha1.BareMetalHost){func(h *bmov1alpha1.BareMetalHost) {
			h.Annotations[bmov1alpha1.StatusAnnotation] = "{}"
		}}, secret: secret, state: "not restored"},
		{name: "status restored, not re-registered", mut: []func(*bmov1alpha1.BareMetalHost){restored}, secret: secret,
			state: "not re-registered by the target's BMO yet"},
		{name: "re-registered", mut: []func(*bmov1alpha1.BareMetalHost){restored, registered}, secret: secret, adopted: true},
		{name: "BMC Secret missing in the target", mut: []func(*bmov1alpha1.BareMetalHost){restored, registered}, secret: nil,
			state: "BMC Secret h-bmc not found"},
		{name: "credentials match by chance but BMO never saved status", mut: []func(*bmov1alpha1.BareMetalHost){restored, func(h *bmov1alpha1.BareMetalHost) {
			h.Status.GoodCredentials = bmov1alpha1.CredentialsStatus{Reference: &corev1.SecretReference{Name: "h-bmc", Namespace: "ns"}, Version: "9876"}
		}}, secret: secret, state: "not saved by the target's BMO"},
		{name: "Secret changed since registration", mut: []func(*bmov1alpha1.BareMetalHost){restored, registered},
			secret: &BMCSecret{Namespace: "ns", Name: "h-bmc", ResourceVersion: "9999"}, state: "not re-registered"},
		{name: "registration error (BMO retries)", mut: []func(*bmov1alpha1.BareMetalHost){restored, registered, func(h *bmov1alpha1.BareMetalHost) {
			h.Status.OperationalStatus = bmov1alpha1.OperationalStatusError
			h.Status.ErrorType = bmov1alpha1.RegistrationError
			h.Status.ErrorMessage = "Failed to get power state for node"
		}}, secret: secret, state: "operationalStatus error (registration error: Failed to get power state for node)"},
		{name: "Ironic adoption failed", mut: []func(*bmov1alpha1.BareMetalHost){restored, registered, func(h *bmov1alpha1.BareMetalHost) {
			h.Status.OperationalStatus = bmov1alpha1.OperationalStatusError
			h.Status.ErrorType = bmov1alpha1.ProvisionedRegistrationError
			h.Status.ErrorMessage = "Host adoption failed: deploy image not found"
		}}, secret: secret, state: "provisioned registration error"},
		{name: "another error type leaves it not OK", mut: []func(*bmov1alpha1.BareMetalHost){restored, registered, func(h *bmov1alpha1.BareMetalHost) {
			h.Status.OperationalStatus = bmov1alpha1.OperationalStatusError
			h.Status.ErrorType = bmov1alpha1.PowerManagementError
		}}, secret: secret, state: "power management error"},
		{name: "re-registering from scratch fails the wait", mut: []func(*bmov1alpha1.BareMetalHost){restored, func(h *bmov1alpha1.BareMetalHost) {
			h.Status.Provisioning.State = bmov1alpha1.StateRegistering
		}}, secret: secret, failed: `entered "registering" in the target instead of keeping "provisioned"`},
		{name: "re-provisioning fails the wait", mut: []func(*bmov1alpha1.BareMetalHost){restored, registered, func(h *bmov1alpha1.BareMetalHost) {
			h.Status.Provisioning.State = bmov1alpha1.StateProvisioning
		}}, secret: secret, failed: `entered "provisioning"`},
		{name: "inspecting fails the wait", mut: []func(*bmov1alpha1.BareMetalHost){restored, func(h *bmov1alpha1.BareMetalHost) {
			h.Status.Provisioning.State = bmov1alpha1.StateInspecting
		}}, secret: secret, failed: `entered "inspecting"`},
		{name: "another steady state is not adoption", mut: []func(*bmov1alpha1.BareMetalHost){restored, registered, func(h *bmov1alpha1.BareMetalHost) {
			h.Status.Provisioning.State = bmov1alpha1.StateAvailable
		}}, secret: secret, state: "was provisioned before the move"},
		{name: "unmanaged host: restored is enough", mut: []func(*bmov1alpha1.BareMetalHost){restored, func(h *bmov1alpha1.BareMetalHost) {
			h.Spec.BMC = bmov1alpha1.BMCDetails{}
		}}, secret: nil, adopted: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &bmov1alpha1.BareMetalHost{ObjectMeta: metav1.ObjectMeta{Name: "h", Namespace: "ns", Annotations: map[string]string{}},
				Spec: bmov1alpha1.BareMetalHostSpec{BMC: bmov1alpha1.BMCDetails{Address: "redfish://192.168.111.1/redfish/v1/Systems/h", CredentialsName: "h-bmc"}}}
			for _, m := range tc.mut {
				m(h)
			}
			a := AdoptionOf(h, before, tc.secret)
			require.Equal(t, tc.adopted, a.Adopted, "%+v", a)
			if tc.failed != "" {
				require.Contains(t, a.Failed, tc.failed)
				require.False(t, a.Adopted)
			} else {
				require.Empty(t, a.Failed)
			}
			if tc.state != "" {
				require.Contains(t, a.State, tc.state)
			}
		})
	}
}

// A host detached from Ironic before the move stays detached: BMO never
// registers it, so a restored status is the whole adoption.
func TestAdoptionOfDetachedHost(t *testing.T) {
	before := provisionedStatus()
	before.OperationalStatus = bmov1alpha1.OperationalStatusDetached
	h := &bmov1alpha1.BareMetalHost{ObjectMeta: metav1.ObjectMeta{Name: "h", Namespace: "ns"},
		Spec: bmov1alpha1.BareMetalHostSpec{BMC: bmov1alpha1.BMCDetails{Address: "redfish://x", CredentialsName: "h-bmc"}}, Status: *before.DeepCopy()}
	require.True(t, AdoptionOf(h, before, nil).Adopted)
	// Its detached annotation removed, BMO registers it like any host.
	h.Status.OperationalStatus = bmov1alpha1.OperationalStatusOK
	require.False(t, AdoptionOf(h, before, nil).Adopted)
	require.False(t, AdoptionOf(h, before, &BMCSecret{Namespace: "ns", Name: "h-bmc", ResourceVersion: "5"}).Adopted, "not re-registered yet")
	later := metav1.NewTime(before.LastUpdated.Add(time.Minute))
	h.Status.LastUpdated = &later
	h.Status.GoodCredentials = bmov1alpha1.CredentialsStatus{Reference: &corev1.SecretReference{Name: "h-bmc", Namespace: "ns"}, Version: "5"}
	require.True(t, AdoptionOf(h, before, &BMCSecret{Namespace: "ns", Name: "h-bmc", ResourceVersion: "5"}).Adopted)
}

// A host counts as adopted only once it has looked adopted for the whole
// settle window: BMO saves a clean status before it reports a failed
// adoption, and a relapse starts the window again.
func TestSettled(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	since := map[string]time.Time{}
	w := 20 * time.Second
	steps := []struct {
		at      time.Duration
		adopted bool
		want    bool
	}{
		{at: 0, adopted: true, want: false},
		{at: 10 * time.Second, adopted: true, want: false},
		{at: 12 * time.Second, adopted: false, want: false}, // BMO reported the failure
		{at: 15 * time.Second, adopted: true, want: false},  // the window starts again
		{at: 34 * time.Second, adopted: true, want: false},
		{at: 35 * time.Second, adopted: true, want: true},
	}
	for _, s := range steps {
		if got := settled(since, "h", s.adopted, t0.Add(s.at), w); got != s.want {
			t.Fatalf("at %s adopted=%v: settled %v, want %v", s.at, s.adopted, got, s.want)
		}
	}
	if !settled(map[string]time.Time{}, "h", true, t0, 0) {
		t.Fatal("a zero window counts a host at once")
	}
}
