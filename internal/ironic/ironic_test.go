package ironic

import (
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

func deploy(ns, name string, replicas int32, podLabels map[string]string, containers ...string) appsv1.Deployment {
	d := appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	d.Spec.Replicas = ptr.To(replicas)
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: podLabels}
	d.Spec.Template.Labels = podLabels
	for _, c := range containers {
		d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: c})
	}
	return d
}

func pod(ns, name string, labels map[string]string, terminating bool, phase corev1.PodPhase) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
	if terminating {
		now := metav1.Now()
		p.DeletionTimestamp = &now
	}
	p.Status.Phase = phase
	return p
}

var ironicLabels = map[string]string{"name": "ironic"}

func TestRunning(t *testing.T) {
	bmoNS := "baremetal-operator-system"
	cases := []struct {
		name string
		s    Objects
		want []string
	}{
		{"nothing", Objects{}, nil},
		{"bmo deployment running", Objects{Deployments: []appsv1.Deployment{deploy(bmoNS, "baremetal-operator-ironic", 1, ironicLabels)}},
			[]string{"Deployment baremetal-operator-system/baremetal-operator-ironic (replicas 1)"}},
		{"scaled to zero, no pods", Objects{Deployments: []appsv1.Deployment{deploy(bmoNS, "baremetal-operator-ironic", 0, ironicLabels)}}, nil},
		{"scaled to zero, pod still terminating", Objects{
			Deployments: []appsv1.Deployment{deploy(bmoNS, "baremetal-operator-ironic", 0, ironicLabels)},
			Pods:        []corev1.Pod{pod(bmoNS, "ironic-abc", ironicLabels, true, corev1.PodRunning)},
		}, []string{"Deployment baremetal-operator-system/baremetal-operator-ironic (1 pod, 1 terminating)"}},
		{"old metal3-ironic name in any namespace", Objects{Deployments: []appsv1.Deployment{deploy("metal3", "metal3-ironic", 1, map[string]string{"app": "x"})}},
			[]string{"Deployment metal3/metal3-ironic (replicas 1)"}},
		{"any name with an ironic container", Objects{Deployments: []appsv1.Deployment{deploy("x", "my-ironic", 2, map[string]string{"app": "i"}, "ironic")}},
			[]string{"Deployment x/my-ironic (replicas 2)"}},
		{"unrelated deployment", Objects{Deployments: []appsv1.Deployment{deploy("x", "web", 2, map[string]string{"app": "web"}, "nginx")}}, nil},
		{"daemonset", Objects{DaemonSets: []appsv1.DaemonSet{{ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "ironic-ds"},
			Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: ironicLabels}}}}}},
			[]string{"DaemonSet x/ironic-ds (daemonset exists)"}},
		{"orphan pod", Objects{Pods: []corev1.Pod{pod("x", "ironic-0", ironicLabels, false, corev1.PodRunning)}}, []string{"Pod x/ironic-0 (pod)"}},
		{"finished pod ignored", Objects{Pods: []corev1.Pod{pod("x", "ironic-0", ironicLabels, false, corev1.PodSucceeded)}}, nil},
		{"irso resource and its service deployment", Objects{
			IrSO:        []unstructured.Unstructured{irso("ironic-ns", "prov")},
			Deployments: []appsv1.Deployment{deploy("ironic-ns", "prov-service", 1, map[string]string{"ironic.metal3.io/app": "prov"})},
		}, []string{"Deployment ironic-ns/prov-service (replicas 1)", "Ironic ironic-ns/prov (Ironic Standalone Operator resource)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, i := range Running(tc.s, DefaultWorkloads) {
				got = append(got, i.String())
				require.NotEmpty(t, i.Remove)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func irso(ns, name string) unstructured.Unstructured {
	u := unstructured.Unstructured{}
	u.SetAPIVersion("ironic.metal3.io/v1alpha1")
	u.SetKind("Ironic")
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

func TestRemoveCommand(t *testing.T) {
	got := Running(Objects{Deployments: []appsv1.Deployment{deploy("baremetal-operator-system", "baremetal-operator-ironic", 1, ironicLabels)}}, DefaultWorkloads)
	require.Len(t, got, 1)
	require.Equal(t, "kubectl -n baremetal-operator-system delete deployment baremetal-operator-ironic && kubectl -n baremetal-operator-system wait --for=delete pod -l name=ironic --timeout=5m", got[0].Remove)
}

func TestConfiguredWorkload(t *testing.T) {
	w, err := ParseWorkload("prov/custom-*")
	require.NoError(t, err)
	d := deploy("prov", "custom-ironic", 1, map[string]string{"app": "c"})
	require.Len(t, Running(Objects{Deployments: []appsv1.Deployment{d}}, []Workload{w}), 1)
	require.Empty(t, Running(Objects{Deployments: []appsv1.Deployment{d}}, DefaultWorkloads))
	for _, bad := range []string{"noslash", "/x", "x/", "a/b/c"} {
		_, err := ParseWorkload(bad)
		require.Error(t, err, bad)
	}
}
