package move

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

var pair *testenv.Pair

func TestMain(m *testing.M) {
	flag.Parse()
	// Under -short the unit tests run; integration tests skip themselves (needEnv).
	code := testenv.RunWithPair(m, &pair, nil)
	// The fault matrix's pivotcheck build (~90 MB) goes with the run.
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func target(c *testenv.Cluster) kube.Cluster {
	return kube.Cluster{Kubeconfig: c.Kubeconfig, Context: c.Context}
}

func testLog(t *testing.T) logr.Logger {
	return testr.NewWithOptions(t, testr.Options{Verbosity: 0})
}

// installIronic gives a cluster BMO's Ironic Deployment and a BMO at
// version bmo; available marks the Ironic Deployment available (no
// controller runs in envtest).
func installIronic(t testing.TB, c client.Client, bmo string, available bool) {
	t.Helper()
	ctx := context.Background()
	if err := fixture.InstallManagement(ctx, c, fixture.Management{Ironic: ptr.To(int32(1)), Keepalived: true, BMOVersion: bmo}); err != nil {
		t.Fatal(err)
	}
	if !available {
		return
	}
	d := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, d); err != nil {
		t.Fatal(err)
	}
	d.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, UpdatedReplicas: 1}
	if err := c.Status().Update(ctx, d); err != nil {
		t.Fatal(err)
	}
}

// bmoStandIn is a stand-in for BMO v0.13.2 (no Ironic runs here). For the
// hosts of one namespace it does what BMO's reconcile does with a moved
// host: an unpaused host with an empty status gets its status from the
// annotation, then the annotation is deleted; an unpaused host with status
// loses the annotation at once; an unpaused host with neither starts
// registering (the disaster case); a restored host is then registered with
// "its Ironic", recorded as BMO's registerHost does: status.goodCredentials
// names the BMC Secret at its current resourceVersion, and the status is saved.
func bmoStandIn(ctx context.Context, t testing.TB, c client.Client, ns string) {
	bmoStandInExcept(ctx, t, c, ns, nil)
}

// bmoStandInExcept is bmoStandIn whose registration of the hosts named in
// neverRegister keeps failing (a BMC the target cannot reach).
func bmoStandInExcept(ctx context.Context, t testing.TB, c client.Client, ns string, neverRegister map[string]bool) {
	go func() {
		for ctx.Err() == nil {
			hosts := &bmov1alpha1.BareMetalHostList{}
			if err := c.List(ctx, hosts, client.InNamespace(ns)); err == nil {
				for i := range hosts.Items {
					bmoReconcile(ctx, t, c, &hosts.Items[i], neverRegister[hosts.Items[i].Name])
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
}

func bmoReconcile(ctx context.Context, t testing.TB, c client.Client, h *bmov1alpha1.BareMetalHost, registrationFails bool) {
	if _, paused := h.Annotations[bmov1alpha1.PausedAnnotation]; paused || h.DeletionTimestamp != nil {
		return
	}
	raw, has := h.Annotations[bmov1alpha1.StatusAnnotation]
	empty := h.Status.LastUpdated == nil
	switch {
	case has && empty:
		var st bmov1alpha1.BareMetalHostStatus
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			t.Errorf("stand-in BMO: bad status annotation on %s: %v", h.Name, err)
			return
		}
		hw := &bmov1alpha1.HardwareData{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(h), hw); err == nil {
			st.HardwareDetails = hw.Spec.HardwareDetails
		}
		h.Status = st
		if err := c.Status().Update(ctx, h); err != nil {
			return
		}
		fallthrough
	case has:
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:null}}}`, bmov1alpha1.StatusAnnotation)
		_ = c.Patch(ctx, h, client.RawPatch("application/merge-patch+json", []byte(patch)))
	case empty && h.Status.Provisioning.State == "":
		h.Status = bmov1alpha1.BareMetalHostStatus{
			OperationalStatus: bmov1alpha1.OperationalStatusDiscovered, LastUpdated: ptr.To(metav1.Now()),
			Provisioning: bmov1alpha1.ProvisionStatus{State: bmov1alpha1.StateRegistering},
			PoweredOn:    false, ErrorCount: 0,
		}
		_ = c.Status().Update(ctx, h)
	case !empty && h.Status.Provisioning.State != bmov1alpha1.StateUnmanaged && h.HasBMCDetails():
		sec := &corev1.Secret{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: h.Namespace, Name: h.Spec.BMC.CredentialsName}, sec); err != nil {
			return
		}
		switch {
		case registrationFails && h.Status.ErrorType != bmov1alpha1.RegistrationError:
			h.Status.OperationalStatus = bmov1alpha1.OperationalStatusError
			h.Status.ErrorType = bmov1alpha1.RegistrationError
			h.Status.ErrorMessage = "stand-in: BMC unreachable from the target"
		case registrationFails || h.Status.GoodCredentials.Match(*sec):
			return
		default:
			h.UpdateGoodCredentials(*sec)
		}
		h.Status.LastUpdated = ptr.To(metav1.Now())
		_ = c.Status().Update(ctx, h)
	}
}

// present counts each fixture object in c (0 or 1).
func present(t testing.TB, c client.Client, refs []fixture.Ref) map[fixture.Ref]bool {
	t.Helper()
	out := map[fixture.Ref]bool{}
	for _, r := range refs {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(r.GVK())
		err := c.Get(context.Background(), client.ObjectKey{Namespace: r.Namespace, Name: r.Name}, u)
		out[r] = err == nil
	}
	return out
}

func toObjects(refs []fixture.Ref) []mover.Object {
	out := make([]mover.Object, 0, len(refs))
	for _, r := range refs {
		out = append(out, mover.Object{Group: r.GVK().Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name})
	}
	mover.SortObjects(out)
	return out
}

// resourceVersions records every object's resourceVersion in the namespace
// of both clusters: a run that changes nothing leaves them equal.
func resourceVersions(t testing.TB, ns string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for side, cl := range map[string]*testenv.Cluster{"source": pair.Bootstrap, "target": pair.Target} {
		kinds, err := movableKinds(ctx, cl.Client)
		if err != nil {
			t.Fatal(err)
		}
		for kind, gvks := range kinds {
			for _, gvk := range gvks {
				l := &unstructured.UnstructuredList{}
				l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
				if err := cl.Client.List(ctx, l, client.InNamespace(ns)); err != nil {
					t.Fatal(err)
				}
				for _, it := range l.Items {
					out[side+" "+kind+" "+it.GetName()] = it.GetResourceVersion()
				}
			}
		}
		deps := &appsv1.DeploymentList{}
		if err := cl.Client.List(ctx, deps); err != nil {
			t.Fatal(err)
		}
		for _, d := range deps.Items {
			out[side+" Deployment "+d.Namespace+"/"+d.Name] = d.ResourceVersion
		}
	}
	return out
}

func noPreflight(context.Context, []string) ([]string, []string, error) { return nil, nil, nil }

var _ = corev1.Secret{}

// capiStandIn sets, in c, the status CAPI's controllers would report for a
// running cluster (status is never copied by move, and clusterctl refuses to
// move an unprovisioned cluster back).
func capiStandIn(t testing.TB, c client.Client, ns string) {
	t.Helper()
	ctx := context.Background()
	cls := &clusterv1.ClusterList{}
	if err := c.List(ctx, cls, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for i := range cls.Items {
		cl := &cls.Items[i]
		cl.Status.Initialization = clusterv1.ClusterInitializationStatus{InfrastructureProvisioned: ptr.To(true), ControlPlaneInitialized: ptr.To(true)}
		cl.Status.Conditions = []metav1.Condition{{Type: clusterv1.ClusterControlPlaneInitializedCondition, Status: metav1.ConditionTrue,
			Reason: clusterv1.ClusterControlPlaneInitializedReason, LastTransitionTime: metav1.Now()}}
		if err := c.Status().Update(ctx, cl); err != nil {
			t.Fatal(err)
		}
	}
	ms := &clusterv1.MachineList{}
	if err := c.List(ctx, ms, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for i := range ms.Items {
		m := &ms.Items[i]
		m.Status.NodeRef = clusterv1.MachineNodeReference{Name: m.Name}
		m.Status.Initialization.BootstrapDataSecretCreated = ptr.To(true)
		m.Status.Initialization.InfrastructureProvisioned = ptr.To(true)
		if err := c.Status().Update(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
}

// needEnv skips integration tests under -short (no API servers started).
func needEnv(t testing.TB) {
	t.Helper()
	if pair == nil {
		t.Skip("integration test: needs envtest (skipped with -short)")
	}
}

func corev1EnvVar(name, value string) corev1.EnvVar { return corev1.EnvVar{Name: name, Value: value} }
