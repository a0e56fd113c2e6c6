package move

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

// ironicAPI is an Ironic API stand-in on loopback: GET /v1/nodes answers
// 401 (auth enforced) for the first `healthy` probes, then 503. Node
// reads (with a query) always answer 401; they are not counted.
func ironicAPI(t *testing.T, healthy int32) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/nodes" {
			http.NotFound(w, r)
			return
		}
		if r.URL.RawQuery != "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if calls.Add(1) > healthy {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// --wait-for-hosts waits for adoption, not only for the restored status: a
// host whose registration keeps failing in the target is reported, with its
// state, when the wait times out; the others were adopted. --ironic-url is
// checked before and after the move.
func TestWaitForHostsNeedsAdoption(t *testing.T) {
	needEnv(t)
	ctx := t.Context()
	const ns = "adoption"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, Workers: 1, SpareHosts: 1})
	require.NoError(t, err)
	stuck := res.Hosts[1]
	bmoStandIn(ctx, t, pair.Bootstrap.Client, ns)
	bmoStandInExcept(ctx, t, pair.Target.Client, ns, map[string]bool{stuck: true})
	srv, calls := ironicAPI(t, 100)

	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	opts.HostTimeout = 8 * time.Second
	opts.IronicURL = srv.URL
	rep, err := Run(ctx, opts)
	var pe *PhaseError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, PhaseVerify, pe.Phase)
	require.True(t, rep.Completed)
	require.False(t, rep.Verified)
	require.Contains(t, err.Error(), "waiting for the target's BMO to adopt every host (1 pending: "+stuck+": provisioned, operationalStatus error (registration error: stand-in: BMC unreachable from the target))")
	require.Contains(t, err.Error(), "timed out after 8s")
	require.Equal(t, statusOK, rep.Phase(PhaseIronicAPI).Status)
	require.Contains(t, rep.Phase(PhaseIronicAPI).Detail, "answered HTTP 401 before the move")
	require.EqualValues(t, 2, calls.Load(), "probed once before and once after the move")
	// That Ironic enforces authentication: the nodes could not be read,
	// and the report says the evidence was BMO's alone.
	require.Contains(t, rep.Warnings, "the target's Ironic could not be read (reading the target's Ironic nodes: GET "+srv.URL+"/v1/nodes?fields=uuid%2Cname%2Cprovision_state%2Ctarget_provision_state%2Clast_error%2Cdeploy_interface%2Cdriver_internal_info%2Cinstance_info: HTTP 401: the Ironic API requires authentication): --wait-for-hosts judged the hosts by BMO's view alone")
	require.Len(t, rep.Hosts, 3)
	for _, h := range rep.Hosts {
		require.Equal(t, EvidenceBMO, h.Evidence, h.Name)
		require.Nil(t, h.Ironic, h.Name)
		require.Equal(t, h.Name != stuck, h.Adopted, h.Name)
	}

	// The other hosts were adopted: registered by the target's BMO with the
	// target's Secret, their provisioning state unchanged.
	hosts := &bmov1alpha1.BareMetalHostList{}
	require.NoError(t, pair.Target.Client.List(ctx, hosts, client.InNamespace(ns)))
	require.Len(t, hosts.Items, 3)
	for _, h := range hosts.Items {
		if h.Name == stuck {
			continue
		}
		require.NotNil(t, h.Status.GoodCredentials.Reference, h.Name)
		require.Equal(t, ns, h.Status.GoodCredentials.Reference.Namespace, h.Name)
		require.NotContains(t, h.Annotations, bmov1alpha1.PausedAnnotation, h.Name)
	}
}

// The target's Ironic API must answer before anything moves (the source's
// Ironic is gone by then, so the VIP is the target's) and again before the
// hosts are unpaused.
func TestIronicURLBeforeAndAfter(t *testing.T) {
	needEnv(t)
	ctx := t.Context()
	installIronic(t, pair.Target.Client, "v0.13.2", true)

	t.Run("down before the move: nothing is moved", func(t *testing.T) {
		const ns = "ironic-url-before"
		installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
		res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1})
		require.NoError(t, err)
		srv, _ := ironicAPI(t, 0)
		opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
		opts.IronicURL = srv.URL + "/v1"
		rep, err := Run(ctx, opts)
		var pe *PhaseError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, PhaseIronicAPI, pe.Phase)
		require.Contains(t, err.Error(), "answered HTTP 503, expected 401 (auth enforced) or 200 before the move")
		require.False(t, rep.Completed)
		inSource := present(t, pair.Bootstrap.Client, res.Objects)
		for _, r := range res.Objects {
			require.True(t, inSource[r], "%s moved", r)
		}
	})

	t.Run("down after the move: hosts stay paused", func(t *testing.T) {
		const ns = "ironic-url-after"
		installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
		_, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, SpareHosts: 1})
		require.NoError(t, err)
		bmoStandIn(ctx, t, pair.Target.Client, ns)
		srv, _ := ironicAPI(t, 1)
		opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
		opts.IronicURL = srv.URL
		rep, err := Run(ctx, opts)
		var pe *PhaseError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, PhaseVerify, pe.Phase)
		require.Contains(t, err.Error(), "answered HTTP 503")
		require.Contains(t, err.Error(), "after the move (hosts left paused)")
		require.True(t, rep.Completed)
		hosts := &bmov1alpha1.BareMetalHostList{}
		require.NoError(t, pair.Target.Client.List(ctx, hosts, client.InNamespace(ns)))
		require.Len(t, hosts.Items, 2)
		for _, h := range hosts.Items {
			require.Equal(t, hostsafety.PivotcheckPauseValue, h.Annotations[bmov1alpha1.PausedAnnotation], h.Name)
			require.Contains(t, h.Annotations, bmov1alpha1.StatusAnnotation, h.Name)
		}
	})
}
