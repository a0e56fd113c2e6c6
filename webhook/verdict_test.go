package webhook

import (
	"fmt"
	"strings"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
)

func host(name string, state bmov1alpha1.ProvisioningState, op bmov1alpha1.OperationalStatus, mut ...func(*bmov1alpha1.BareMetalHost)) *bmov1alpha1.BareMetalHost {
	h := &bmov1alpha1.BareMetalHost{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "metal3", Annotations: map[string]string{}},
		Status: bmov1alpha1.BareMetalHostStatus{
			OperationalStatus: op,
			Provisioning:      bmov1alpha1.ProvisionStatus{State: state},
		},
	}
	for _, m := range mut {
		m(h)
	}
	return h
}

func annotated(k, v string) func(*bmov1alpha1.BareMetalHost) {
	return func(h *bmov1alpha1.BareMetalHost) { h.Annotations[k] = v }
}

func consumed(h *bmov1alpha1.BareMetalHost) {
	h.Spec.ConsumerRef = &corev1.ObjectReference{Kind: "Metal3Machine", Name: "m"}
}

var pauseTarget = Target{Gate: GatePause, Operation: "UPDATE", Kind: "Cluster", Namespace: "metal3", Name: "test1"}

// Every provisioning state BMO v0.13 defines, plus an unknown future one.
func TestDecideProvisioningStates(t *testing.T) {
	cases := map[bmov1alpha1.ProvisioningState]bool{ // allowed?
		bmov1alpha1.StateNone:                    false,
		bmov1alpha1.StateUnmanaged:               true,
		bmov1alpha1.StateRegistering:             false,
		bmov1alpha1.StateMatchProfile:            false,
		bmov1alpha1.StatePreparing:               false,
		bmov1alpha1.StateReady:                   true,
		bmov1alpha1.StateAvailable:               true,
		bmov1alpha1.StateProvisioning:            false,
		bmov1alpha1.StateProvisioned:             true,
		bmov1alpha1.StateExternallyProvisioned:   true,
		bmov1alpha1.StateDeprovisioning:          false,
		bmov1alpha1.StateInspecting:              false,
		bmov1alpha1.StatePoweringOffBeforeDelete: false,
		bmov1alpha1.StateDeleting:                false,
		"some-future-state":                      false,
	}
	for state, allowed := range cases {
		for _, gate := range []Target{pauseTarget, {Gate: GateDeleteForMove, Operation: "UPDATE", Kind: "Metal3Machine", Namespace: "metal3", Name: "m"}} {
			t.Run(fmt.Sprintf("%s/%q", gate.Gate, state), func(t *testing.T) {
				d := Decide(gate, Evidence{Hosts: []*bmov1alpha1.BareMetalHost{
					host("ok", bmov1alpha1.StateProvisioned, bmov1alpha1.OperationalStatusOK),
					host("h", state, bmov1alpha1.OperationalStatusOK),
				}}, 5)
				require.Equal(t, allowed, d.Allowed, d.Message)
				if allowed {
					require.Equal(t, ReasonSafe, d.Reason)
					return
				}
				require.Equal(t, ReasonHostBusy, d.Reason)
				require.Contains(t, d.Message, "1 BareMetalHost is mid-operation in namespace metal3: h is ")
				require.NotContains(t, d.Message, "ok is")
				if gate.Gate == GatePause {
					require.Contains(t, d.Message, `kubectl -n metal3 annotate cluster test1 pivotcheck.dev/allow-unsafe-move="<reason>"`)
				} else {
					require.Contains(t, d.Message, "kubectl label namespace metal3 pivotcheck.dev/allow-unsafe-move=<reason>")
				}
			})
		}
	}
}

func TestDecideOperationalStatuses(t *testing.T) {
	cases := map[bmov1alpha1.OperationalStatus]bool{
		bmov1alpha1.OperationalStatusOK:         true,
		bmov1alpha1.OperationalStatusDiscovered: true,
		bmov1alpha1.OperationalStatusError:      true, // a warning, not a block
		bmov1alpha1.OperationalStatusDelayed:    false,
		bmov1alpha1.OperationalStatusDetached:   true,
		bmov1alpha1.OperationalStatusServicing:  false,
	}
	for op, allowed := range cases {
		t.Run(string(op), func(t *testing.T) {
			d := Decide(pauseTarget, Evidence{Hosts: []*bmov1alpha1.BareMetalHost{host("h", bmov1alpha1.StateProvisioned, op)}}, 5)
			require.Equal(t, allowed, d.Allowed, d.Message)
			if !allowed {
				require.Contains(t, d.Message, "h has operationalStatus "+string(op))
			}
		})
	}
}

func TestDecideAnnotationsAndDeletion(t *testing.T) {
	now := metav1.Now()
	cases := []struct {
		name     string
		h        *bmov1alpha1.BareMetalHost
		allowed  bool
		contains string
		warning  string
	}{
		{"reboot", host("h", bmov1alpha1.StateProvisioned, "OK", annotated("reboot.metal3.io", "")), false, "pending reboot (reboot.metal3.io)", ""},
		{"reboot-keyed", host("h", bmov1alpha1.StateProvisioned, "OK", annotated("reboot.metal3.io/ops", `{"mode":"hard"}`)), false, "reboot.metal3.io/ops", ""},
		{"reinspect", host("h", bmov1alpha1.StateProvisioned, "OK", annotated("inspect.metal3.io", "")), false, "re-inspection requested", ""},
		{"inspect-disabled", host("h", bmov1alpha1.StateProvisioned, "OK", annotated("inspect.metal3.io", "disabled")), true, "", ""},
		{"deleting", host("h", bmov1alpha1.StateProvisioned, "OK", func(h *bmov1alpha1.BareMetalHost) { h.DeletionTimestamp = &now }), false, "h is being deleted", ""},
		{"handed-over-by-move", host("h", bmov1alpha1.StateProvisioned, "OK", func(h *bmov1alpha1.BareMetalHost) {
			h.DeletionTimestamp = &now
			h.Annotations[DeleteForMoveAnnotation] = ""
		}), true, "", ""},
		{"consumed-no-status", host("h", bmov1alpha1.StateProvisioned, "OK", consumed), true, "", "h is consumed but has no baremetalhost.metal3.io/status annotation"},
		{"consumed-user-paused", host("h", bmov1alpha1.StateProvisioned, "OK", consumed, annotated(bmov1alpha1.PausedAnnotation, "me")), true, "", `h is paused by "me"`},
		{"consumed-capm3-paused-with-status", host("h", bmov1alpha1.StateProvisioned, "OK", consumed, annotated(bmov1alpha1.PausedAnnotation, "metal3.io/capm3"), annotated(bmov1alpha1.StatusAnnotation, "{}")), true, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(pauseTarget, Evidence{Hosts: []*bmov1alpha1.BareMetalHost{c.h}}, 5)
			require.Equal(t, c.allowed, d.Allowed, d.Message)
			require.Contains(t, d.Message, c.contains)
			if c.warning != "" {
				require.Len(t, d.Warnings, 1)
				require.Contains(t, d.Warnings[0], c.warning)
			} else if c.allowed {
				require.Empty(t, d.Warnings)
			}
		})
	}
}

func TestDecideIronicAndListing(t *testing.T) {
	in := ironic.Instance{Kind: "Deployment", Namespace: "baremetal-operator-system", Name: "baremetal-operator-ironic", Why: "replicas 1",
		Remove: "kubectl -n baremetal-operator-system delete deployment baremetal-operator-ironic"}

	d := Decide(pauseTarget, Evidence{Ironic: []ironic.Instance{in}}, 5)
	require.False(t, d.Allowed)
	require.Equal(t, ReasonIronicRunning, d.Reason)
	require.Contains(t, d.Message, "Deployment baremetal-operator-system/baremetal-operator-ironic (replicas 1); remove it: kubectl -n baremetal-operator-system delete deployment baremetal-operator-ironic")

	var hosts []*bmov1alpha1.BareMetalHost
	for i := range 12 {
		hosts = append(hosts, host(fmt.Sprintf("h%02d", i), bmov1alpha1.StateProvisioning, "OK"))
	}
	d = Decide(pauseTarget, Evidence{Hosts: hosts, Ironic: []ironic.Instance{in}}, 3)
	require.False(t, d.Allowed)
	require.Equal(t, ReasonHostAndIronic, d.Reason)
	require.Contains(t, d.Message, "12 BareMetalHosts are mid-operation in namespace metal3: h00 is provisioning; h01 is provisioning; h02 is provisioning; and 9 more.")
	require.Len(t, d.Busy, 12)

	// A host with several hazards is named once with all of them.
	d = Decide(pauseTarget, Evidence{Hosts: []*bmov1alpha1.BareMetalHost{
		host("x", bmov1alpha1.StateInspecting, bmov1alpha1.OperationalStatusServicing, annotated("reboot.metal3.io", "")),
	}}, 5)
	require.Contains(t, d.Message, "x is inspecting, has operationalStatus servicing, has a pending reboot (reboot.metal3.io).")
	require.Equal(t, 1, strings.Count(d.Message, "x is"))

	// The delete gate names the target object.
	d = Decide(Target{Gate: GateDeleteForMove, Operation: "DELETE", Kind: "BareMetalHost", Namespace: "metal3", Name: "x"}, Evidence{Ironic: []ironic.Instance{in}}, 5)
	require.Contains(t, d.Message, "the deletion of BareMetalHost metal3/x by clusterctl move")
}

func TestIndexAgreesWithDecide(t *testing.T) {
	now := metav1.Now()
	for _, h := range []*bmov1alpha1.BareMetalHost{
		host("a", bmov1alpha1.StateProvisioned, "OK"),
		host("b", bmov1alpha1.StateProvisioning, "OK"),
		host("c", bmov1alpha1.StateProvisioned, "OK", consumed),
		host("d", bmov1alpha1.StateProvisioned, "OK", func(h *bmov1alpha1.BareMetalHost) { h.DeletionTimestamp = &now }),
		host("e", bmov1alpha1.StateProvisioned, "OK", func(h *bmov1alpha1.BareMetalHost) {
			h.DeletionTimestamp = &now
			h.Annotations[DeleteForMoveAnnotation] = ""
		}),
	} {
		d := Decide(pauseTarget, Evidence{Hosts: []*bmov1alpha1.BareMetalHost{h}}, 5)
		require.Equal(t, !d.Allowed, len(IndexHost(h)) == 1, h.Name)
	}
}

// With no Ironic in the cluster, only an allowed pause carries the warning
// naming BMO's Ironic endpoint: a running Ironic is a denial, and the
// delete-for-move gate (two requests per moved object, each warning logged
// by clusterctl) stays quiet.
func TestDecideExternalIronic(t *testing.T) {
	running := []ironic.Instance{{Kind: "Deployment", Namespace: "baremetal-operator-system", Name: "baremetal-operator-ironic", Why: "replicas 1", Remove: "kubectl ..."}}
	deleteTarget := Target{Gate: GateDeleteForMove, Operation: "DELETE", Kind: "Metal3Machine", Namespace: "metal3", Name: "m"}
	bmoAt := func(endpoint string) *BMOInfo {
		return &BMOInfo{Deployment: "baremetal-operator-system/baremetal-operator-controller-manager", Endpoint: endpoint}
	}
	cases := []struct {
		name    string
		t       Target
		s       Evidence
		allowed bool
		warning string // "" = no external-Ironic warning
	}{
		{"pause, endpoint configured", pauseTarget, Evidence{BMO: bmoAt("http://172.22.0.2:6385/v1/")}, true,
			"no Ironic runs in this cluster, but BMO baremetal-operator-system/baremetal-operator-controller-manager is configured to reach Ironic at http://172.22.0.2:6385/v1/"},
		{"pause, IrSO resource", pauseTarget, Evidence{BMO: bmoAt("Ironic resource metal3/ironic (Ironic Standalone Operator)")}, true,
			"is configured to reach Ironic at Ironic resource metal3/ironic (Ironic Standalone Operator)"},
		{"pause, no endpoint readable", pauseTarget, Evidence{BMO: bmoAt("")}, true,
			"has no Ironic endpoint pivotcheck can read"},
		{"pause, no BMO in the cluster", pauseTarget, Evidence{}, true, ""},
		{"pause, Ironic runs: denied, no warning", pauseTarget, Evidence{Ironic: running, BMO: bmoAt("http://x")}, false, ""},
		{"pause, host busy: denied, no warning", pauseTarget, Evidence{BMO: bmoAt("http://x"),
			Hosts: []*bmov1alpha1.BareMetalHost{host("h", bmov1alpha1.StateProvisioning, "OK")}}, false, ""},
		{"delete-for-move, endpoint configured", deleteTarget, Evidence{BMO: bmoAt("http://172.22.0.2:6385/v1/")}, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(c.t, c.s, 5)
			require.Equal(t, c.allowed, d.Allowed, d.Message)
			if c.warning == "" {
				for _, w := range d.Warnings {
					require.NotContains(t, w, "no Ironic runs")
				}
				return
			}
			require.Equal(t, ReasonSafe, d.Reason)
			require.NotEmpty(t, d.Warnings)
			require.Contains(t, d.Warnings[0], c.warning)
			require.Contains(t, d.Warnings[0], "cannot tell an Ironic already stopped from one running outside the cluster")
		})
	}

	// It comes first, before the host warnings.
	d := Decide(pauseTarget, Evidence{BMO: bmoAt("http://e"), Hosts: []*bmov1alpha1.BareMetalHost{
		host("h", bmov1alpha1.StateProvisioned, "OK", consumed)}}, 5)
	require.Len(t, d.Warnings, 2)
	require.Contains(t, d.Warnings[0], "http://e")
	require.Contains(t, d.Warnings[1], "h is consumed but has no baremetalhost.metal3.io/status annotation")
}

// A pause denial tells a user who is not moving (maintenance,
// clusterctl move --to-directory) how to get past it, and to undo it.
func TestDecidePauseDenialNamesNonMovePauses(t *testing.T) {
	d := Decide(pauseTarget, Evidence{Hosts: []*bmov1alpha1.BareMetalHost{host("h", bmov1alpha1.StateInspecting, "OK")}}, 5)
	require.False(t, d.Allowed)
	require.Contains(t, d.Message, "maintenance or clusterctl move --to-directory")
	require.Contains(t, d.Message, `kubectl -n metal3 annotate cluster test1 pivotcheck.dev/allow-unsafe-move="<reason>", then remove it`)
}
