package e2e

import (
	"fmt"
	"slices"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

// allStates are every provisioning state BMO v0.13 defines.
var allStates = []bmov1alpha1.ProvisioningState{
	bmov1alpha1.StateNone, bmov1alpha1.StateUnmanaged, bmov1alpha1.StateRegistering, bmov1alpha1.StateMatchProfile,
	bmov1alpha1.StatePreparing, bmov1alpha1.StateReady, bmov1alpha1.StateAvailable, bmov1alpha1.StateProvisioning,
	bmov1alpha1.StateProvisioned, bmov1alpha1.StateExternallyProvisioned, bmov1alpha1.StateDeprovisioning,
	bmov1alpha1.StateInspecting, bmov1alpha1.StatePoweringOffBeforeDelete, bmov1alpha1.StateDeleting,
}

var allErrorTypes = []bmov1alpha1.ErrorType{
	"", bmov1alpha1.ProvisionedRegistrationError, bmov1alpha1.RegistrationError, bmov1alpha1.InspectionError,
	bmov1alpha1.PreparationError, bmov1alpha1.ProvisioningError, bmov1alpha1.PowerManagementError,
	bmov1alpha1.DetachError, bmov1alpha1.ServicingError,
}

var allOperational = []bmov1alpha1.OperationalStatus{
	bmov1alpha1.OperationalStatusOK, bmov1alpha1.OperationalStatusDiscovered, bmov1alpha1.OperationalStatusError,
	bmov1alpha1.OperationalStatusDelayed, bmov1alpha1.OperationalStatusDetached, bmov1alpha1.OperationalStatusServicing,
}

// TestLabBMOWebhookAgreesWithPivotcheck: for every provisioning state,
// operational status and error type, the status annotation pivotcheck
// writes (with its pause, in one patch, as the hand-over does) is accepted
// by BMO's real webhook, dry-run on a real host; and where pivotcheck
// refuses to write one (servicing, detach error, servicing error), BMO's
// webhook rejects the same annotation.
func TestLabBMOWebhookAgreesWithPivotcheck(t *testing.T) {
	ctx := labTest(t)
	opts := fixture.Options{Namespace: "bmo-webhook", ClusterName: "lab4", ControlPlane: 1, SpareHosts: 1}
	res, _ := build(ctx, t, opts)
	src := pair.Bootstrap.Client
	real := &bmov1alpha1.BareMetalHost{}
	require.NoError(t, src.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: res.Hosts[0]}, real))

	accepted, rejected := 0, 0
	for _, state := range allStates {
		for _, op := range allOperational {
			for _, et := range allErrorTypes {
				if (et != "") != (op == bmov1alpha1.OperationalStatusError) {
					continue // BMO sets an error type exactly when the host is in error
				}
				st := real.Status.DeepCopy()
				st.Provisioning.State, st.OperationalStatus, st.ErrorType = state, op, et
				name := fmt.Sprintf("%s/%s/%q", state, op, et)
				raw, encErr := bmo.EncodeStatus(*st, nil)
				refused := op == bmov1alpha1.OperationalStatusServicing || slices.Contains([]bmov1alpha1.ErrorType{bmov1alpha1.DetachError, bmov1alpha1.ServicingError}, et)
				if encErr == nil {
					require.False(t, refused, "%s: pivotcheck must refuse this status", name)
				} else {
					require.True(t, refused, "%s: pivotcheck refused a status BMO accepts: %v", name, encErr)
					// Write it anyway, as a tool without the rule would.
					st.HardwareDetails = nil
					raw = mustJSON(t, st)
				}
				h := real.DeepCopy()
				if h.Annotations == nil {
					h.Annotations = map[string]string{}
				}
				h.Annotations[bmov1alpha1.PausedAnnotation] = hostsafety.PivotcheckPauseValue
				h.Annotations[bmov1alpha1.StatusAnnotation] = raw
				err := src.Patch(ctx, h, client.MergeFrom(real), client.DryRunAll)
				if refused {
					require.Error(t, err, "%s: BMO's webhook accepted what pivotcheck refuses", name)
					require.Contains(t, err.Error(), bmov1alpha1.StatusAnnotation, name)
					rejected++
				} else {
					require.NoError(t, err, "%s: BMO's webhook rejected the annotation pivotcheck writes", name)
					accepted++
				}
			}
		}
	}
	t.Logf("BMO's webhook accepted %d status annotations written by pivotcheck and rejected the %d pivotcheck refuses to write", accepted, rejected)
	require.Positive(t, accepted)
	require.Positive(t, rejected)
}
