package webhook_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

// bmoConfiguredFor creates BMO's controller Deployment as its kustomize
// config deploys it (envFrom the ConfigMap baremetal-operator-ironic that
// holds IRONIC_ENDPOINT) and removes both at the end of the test.
func bmoConfiguredFor(ctx context.Context, t *testing.T, c client.Client, endpoint string) {
	t.Helper()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: fixture.BMONamespace, Name: "baremetal-operator-ironic"},
		Data:       map[string]string{"IRONIC_ENDPOINT": endpoint, "DEPLOY_KERNEL_URL": "http://172.22.0.2:6180/images/ironic-python-agent.kernel"},
	}
	labels := map[string]string{"control-plane": "controller-manager"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: fixture.BMONamespace, Name: fixture.BMOName},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "manager", Image: "quay.io/metal3-io/baremetal-operator:v0.13.2",
					EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}}}},
				}}},
			},
		},
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fixture.BMONamespace}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	require.NoError(t, c.Create(ctx, cm))
	require.NoError(t, c.Create(ctx, d))
	t.Cleanup(func() {
		require.NoError(t, client.IgnoreNotFound(c.Delete(context.Background(), d)))
		require.NoError(t, client.IgnoreNotFound(c.Delete(context.Background(), cm)))
	})
}

// No Ironic runs in the bootstrap, but BMO is configured for one: the
// pause is allowed and the API server hands the client the warning that
// names BMO's Ironic endpoint (it may run outside the cluster). Once an
// Ironic runs in the cluster the pause is refused instead.
func TestExternalIronicWarningThroughAPIServer(t *testing.T) {
	p := envPair(t)
	ctx := context.Background()
	b := p.Bootstrap
	c, warns := clientWithWarnings(t, b)
	const ns = "external-ironic"
	res, err := fixture.Build(ctx, c, fixture.Options{Namespace: ns, Faults: fixture.Faults{StatusAnnotation: []int{0}}})
	require.NoError(t, err)
	// Another test's Ironic must not be left over: this one is about none.
	require.NoError(t, client.IgnoreNotFound(c.Delete(ctx, &appsv1.Deployment{ObjectMeta: objMeta(fixture.BMONamespace, fixture.IronicName)})))
	const endpoint = "https://192.168.111.1:6385/v1/"
	bmoConfiguredFor(ctx, t, c, endpoint)

	wh := startWebhook(t, b)
	defer wh.stop(t)

	external := func() []string {
		var out []string
		for _, w := range warns.take() {
			if strings.Contains(w, "no Ironic runs in this cluster") {
				out = append(out, w)
			}
		}
		return out
	}
	warns.take()
	eventually(t, "pause allowed", func() error { return pause(ctx, c, ns, "test1", true) })
	got := external()
	require.Len(t, got, 1, "one warning per pause request")
	require.Contains(t, got[0], "BMO baremetal-operator-system/baremetal-operator-controller-manager is configured to reach Ironic at "+endpoint)
	require.Contains(t, got[0], "stop it before the target's Ironic starts")

	t.Log("the delete-for-move gate does not repeat it")
	m3m := uobj("infrastructure.cluster.x-k8s.io/v1beta2", "Metal3Machine", ns, "")
	for _, ref := range res.Objects {
		if ref.Kind == "Metal3Machine" {
			m3m.SetName(ref.Name)
		}
	}
	require.NoError(t, markDeleteForMove(ctx, c, m3m, true))
	require.Empty(t, external())

	t.Log("an Ironic in the cluster: refused, no warning")
	require.NoError(t, fixture.InstallManagement(ctx, c, fixture.Management{Ironic: ptr.To(int32(1))}))
	defer func() {
		require.NoError(t, client.IgnoreNotFound(c.Delete(ctx, &appsv1.Deployment{ObjectMeta: objMeta(fixture.BMONamespace, fixture.IronicName)})))
	}()
	eventually(t, "Ironic seen", func() error {
		if err := pause(ctx, c, ns, "test1", true); err == nil {
			return errAllowed
		}
		return nil
	})
	denied(t, pause(ctx, c, ns, "test1", true), "Ironic still runs")
	require.Empty(t, external())
}
