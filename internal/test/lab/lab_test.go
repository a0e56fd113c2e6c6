package lab_test

// Lab tests: each starts real controllers (see package lab) against an
// envtest API server and asserts what they did. They need `make lab`.

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	os.Exit(lab.Main(m))
}

// start starts one lab cluster for the test; its logs are printed when the
// test fails.
func start(t *testing.T, name string, o lab.Options) *testenv.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("lab test: needs `make envtest lab`")
	}
	ctx := context.Background()
	begin := time.Now()
	c, err := testenv.Start(ctx, testenv.Options{Name: name, LabelCRD: testenv.LabelLikeClusterctl, Lab: &o})
	require.NoError(t, err)
	t.Logf("%s lab ready in %s", name, time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			c.Lab.Keep()
			t.Log(c.Lab.Logs(40))
		}
		require.NoError(t, c.Stop())
	})
	return c
}

// waitFor polls cond until it holds; on timeout it fails with what was
// last observed and whether a controller crashed.
func waitFor(t *testing.T, c *testenv.Cluster, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var seen string
	for {
		var ok bool
		if ok, seen = cond(); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last observed: %s; controllers: %v", what, timeout, seen, c.Lab.Check())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestKubernetesControllers(t *testing.T) {
	c := start(t, "k8s", lab.Options{Kubernetes: true})
	ctx := context.Background()
	labels := map[string]string{"app": "probe"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "probe"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.invalid/probe:1"}}},
			},
		},
	}
	require.NoError(t, c.Client.Create(ctx, dep))

	// The Deployment controller creates a ReplicaSet, the scheduler binds its
	// pods to the fake node, kwok runs them: the Available condition is real.
	waitFor(t, c, 60*time.Second, "Deployment available", func() (bool, string) {
		d := &appsv1.Deployment{}
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(dep), d); err != nil {
			return false, err.Error()
		}
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue && d.Status.AvailableReplicas == 2 {
				return true, ""
			}
		}
		return false, "status " + d.Status.String()
	})
	pods := &corev1.PodList{}
	require.NoError(t, c.Client.List(ctx, pods, client.InNamespace("default"), client.MatchingLabels(labels)))
	require.Len(t, pods.Items, 2)
	for _, p := range pods.Items {
		require.Equal(t, corev1.PodRunning, p.Status.Phase, p.Name)
		require.Equal(t, c.Lab.Nodes[0], p.Spec.NodeName, p.Name)
		require.NotEmpty(t, p.OwnerReferences, "pod %s is owned by its ReplicaSet", p.Name)
	}

	// Deleting the Deployment: the garbage collector removes the ReplicaSet
	// and the pods, and kwok lets the pods go.
	require.NoError(t, c.Client.Delete(ctx, dep, client.PropagationPolicy(metav1.DeletePropagationBackground)))
	waitFor(t, c, 60*time.Second, "pods removed by the garbage collector", func() (bool, string) {
		pods := &corev1.PodList{}
		if err := c.Client.List(ctx, pods, client.InNamespace("default"), client.MatchingLabels(labels)); err != nil {
			return false, err.Error()
		}
		rs := &appsv1.ReplicaSetList{}
		if err := c.Client.List(ctx, rs, client.InNamespace("default"), client.MatchingLabels(labels)); err != nil {
			return false, err.Error()
		}
		return len(pods.Items) == 0 && len(rs.Items) == 0, ""
	})
}

func TestBMO(t *testing.T) {
	c := start(t, "bmo", lab.Options{BMO: true})
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "metal3"}}
	require.NoError(t, c.Client.Create(ctx, ns))
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "metal3", Name: "h0-bmc"},
		Data:       map[string][]byte{"username": []byte("admin"), "password": []byte("pw")},
	}
	require.NoError(t, c.Client.Create(ctx, sec))

	// BMO's real webhook refuses a status annotation its rules reject.
	bad := &bmov1alpha1.BareMetalHost{
		ObjectMeta: metav1.ObjectMeta{Namespace: "metal3", Name: "bad", Annotations: map[string]string{
			bmov1alpha1.StatusAnnotation: `{"operationalStatus":"servicing"}`,
		}},
		Spec: bmov1alpha1.BareMetalHostSpec{BootMACAddress: "00:11:22:33:44:55", BMC: bmov1alpha1.BMCDetails{Address: "ipmi://127.0.0.1:6230", CredentialsName: "h0-bmc"}},
	}
	err := c.Client.Create(ctx, bad)
	require.Error(t, err)
	require.True(t, apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || apierrors.IsBadRequest(err), "%v", err)
	require.Contains(t, err.Error(), "operationalStatus")

	// A new host is registered and inspected by BMO's fixture provisioner.
	h := &bmov1alpha1.BareMetalHost{
		ObjectMeta: metav1.ObjectMeta{Namespace: "metal3", Name: "h0"},
		Spec: bmov1alpha1.BareMetalHostSpec{
			Online: true, BootMACAddress: "00:11:22:33:44:66",
			BMC: bmov1alpha1.BMCDetails{Address: "ipmi://127.0.0.1:6230", CredentialsName: "h0-bmc"},
		},
	}
	require.NoError(t, c.Client.Create(ctx, h))
	var states []bmov1alpha1.ProvisioningState
	waitFor(t, c, 60*time.Second, "host available", func() (bool, string) {
		got := &bmov1alpha1.BareMetalHost{}
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(h), got); err != nil {
			return false, err.Error()
		}
		s := got.Status.Provisioning.State
		if len(states) == 0 || states[len(states)-1] != s {
			states = append(states, s)
		}
		return s == bmov1alpha1.StateAvailable, string(s)
	})
	t.Logf("host h0 went through %v", states)
	require.Contains(t, states, bmov1alpha1.StateAvailable)
}

func TestCAPM3(t *testing.T) {
	c := start(t, "capm3", lab.Options{CAPM3: true})
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "metal3"}}
	require.NoError(t, c.Client.Create(ctx, ns))
	// IPAM's webhook validates pools: an IPPool whose range is outside its
	// own prefix is refused, so the webhook really answers.
	pool := map[string]any{
		"apiVersion": "ipam.metal3.io/v1alpha1", "kind": "IPPool",
		"metadata": map[string]any{"namespace": "metal3", "name": "bad"},
		"spec":     map[string]any{"namePrefix": "bad", "pools": []any{map[string]any{"start": "192.168.0.10", "end": "192.168.0.1"}}, "prefix": int64(24)},
	}
	err := c.Client.Create(ctx, &unstructured.Unstructured{Object: pool})
	require.Error(t, err)
	require.Contains(t, err.Error(), "start address must be less than or equal to end address")
}
