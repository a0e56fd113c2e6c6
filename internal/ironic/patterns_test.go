package ironic

import (
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func deployment(ns, name string, labels map[string]string, images ...string) appsv1.Deployment {
	d := appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
	for i, img := range images {
		d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: "c" + string(rune('0'+i)), Image: img})
	}
	return d
}

func TestCheckPatterns(t *testing.T) {
	s := Objects{
		Deployments: []appsv1.Deployment{
			deployment("metal3", "my-ironic", nil, "quay.io/metal3-io/ironic:v29.0", "quay.io/metal3-io/keepalived"),
			deployment("metal3", "labelled", nil, "registry.local/custom:1"),
			deployment("baremetal-operator-system", "baremetal-operator-controller-manager", nil, "quay.io/metal3-io/baremetal-operator:v0.13.2"),
			deployment("capm3-system", "capm3-controller-manager", map[string]string{ProviderLabel: "infrastructure-metal3"}, "quay.io/metal3-io/cluster-api-provider-metal3:v1.13.0"),
			deployment("kube-system", "coredns", nil, "registry.k8s.io/coredns/coredns:v1.12.0"),
			deployment("apps", "web", nil, "nginx:1.27"),
			deployment("ironic-standalone-operator-system", "irso-controller-manager", nil, "quay.io/metal3-io/ironic-standalone-operator:v0.5.0"),
		},
		DaemonSets: []appsv1.DaemonSet{{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-proxy"},
			Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "kube-proxy", Image: "registry.k8s.io/kube-proxy:v1.35.0"}}}}}}},
	}
	s.Deployments[1].Spec.Template.Labels = map[string]string{PodLabel: PodLabelVal}
	for _, tc := range []struct {
		pattern string
		want    string // "" accepted
	}{
		{"metal3/my-ironic", ""},
		{"*/my-ironic", ""},
		{"metal3/*", ""}, // both metal3 workloads run Ironic (image, label)
		{"*/no-such-workload", ""},
		{"*/*", `--ironic-workload "*/*" matches Deployment baremetal-operator-system/baremetal-operator-controller-manager, which is the baremetal-operator, and the Ironic hand-over would stop it: name only Ironic workloads`},
		{"apps/web", `--ironic-workload "apps/web" matches Deployment apps/web, which runs no Ironic image (nginx:1.27), and the Ironic hand-over would stop it: name only Ironic workloads`},
		{"capm3-system/*", `matches Deployment capm3-system/capm3-controller-manager, which belongs to the Cluster API provider infrastructure-metal3`},
		{"kube-system/coredns", `matches Deployment kube-system/coredns, which is in kube-system`},
		{"*/kube-proxy", `matches DaemonSet kube-system/kube-proxy, which is in kube-system`},
		{"*/irso-*", `matches Deployment ironic-standalone-operator-system/irso-controller-manager, which runs no Ironic image`},
		{"baremetal-operator-system/baremetal-operator-*", `which is the baremetal-operator`},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			w, err := ParseWorkload(tc.pattern)
			require.NoError(t, err)
			err = CheckPatterns(s, append([]Workload{w}, DefaultWorkloads...))
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "\n")
		})
	}
	// The defaults are not the user's patterns: never refused here.
	require.NoError(t, CheckPatterns(Objects{Deployments: []appsv1.Deployment{deployment("x", "metal3-ironic", nil, "nginx")}}, DefaultWorkloads))
}
