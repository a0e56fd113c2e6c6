package webhook_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

// The rest of a realistic management cluster, besides its BareMetalHosts:
// what the webhook's Ironic check lists cluster-wide (Deployments,
// DaemonSets, Pods) and what its cache holds (ConfigMaps). None of it runs
// Ironic.
const (
	clusterAppNamespaces = 40
	clusterDeployments   = 200  // 5 per namespace
	clusterDaemonSets    = 20   // in 4 system-like namespaces
	clusterPods          = 2000 // 50 per namespace, owned by the Deployments' ReplicaSets
	clusterConfigMaps    = 400  // 10 per namespace, every fourth with a 16 KB value
)

var clusterOnce sync.Once

// createRealisticCluster adds, once per process, clusterPods Pods,
// clusterDeployments Deployments, clusterDaemonSets DaemonSets and
// clusterConfigMaps ConfigMaps in clusterAppNamespaces namespaces. There is
// no kubelet in envtest: the pods only exist, with a realistic spec (two
// containers, env, resources, volumes), unscheduled.
func createRealisticCluster(t testing.TB, c *testenv.Cluster) {
	t.Helper()
	var err error
	clusterOnce.Do(func() {
		ctx := context.Background()
		start := time.Now()
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(16)
		create := func(o client.Object) {
			g.Go(func() error {
				if err := c.Client.Create(gctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
					return fmt.Errorf("creating %T %s/%s: %w", o, o.GetNamespace(), o.GetName(), err)
				}
				return nil
			})
		}
		for i := range clusterAppNamespaces {
			if err = c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: appNamespace(i)}}); err != nil && !apierrors.IsAlreadyExists(err) {
				return
			}
		}
		perNS := clusterDeployments / clusterAppNamespaces
		for i := range clusterDeployments {
			create(appDeployment(appNamespace(i/perNS), fmt.Sprintf("app-%03d", i)))
		}
		for i := range clusterDaemonSets {
			create(appDaemonSet(appNamespace(i%4), fmt.Sprintf("node-agent-%02d", i)))
		}
		podsPerDeployment := clusterPods / clusterDeployments
		for i := range clusterPods {
			d := i / podsPerDeployment
			create(appPod(appNamespace(d/perNS), fmt.Sprintf("app-%03d", d), i))
		}
		cmsPerNS := clusterConfigMaps / clusterAppNamespaces
		for i := range clusterConfigMaps {
			cm := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace(i / cmsPerNS), Name: fmt.Sprintf("config-%03d", i)},
				Data:       map[string]string{"LOG_LEVEL": "info", "ENDPOINT": fmt.Sprintf("https://svc-%03d.example:8443", i)},
			}
			if i%4 == 0 {
				cm.Data["manifest.yaml"] = strings.Repeat("# a bundled manifest line of a typical chart\n", 16*1024/46)
			}
			create(cm)
		}
		err = g.Wait()
		fmt.Fprintf(os.Stderr, "created %d Pods, %d Deployments, %d DaemonSets, %d ConfigMaps in %s\n",
			clusterPods, clusterDeployments, clusterDaemonSets, clusterConfigMaps, time.Since(start).Round(time.Millisecond))
	})
	require.NoError(t, err)
}

func appNamespace(i int) string { return fmt.Sprintf("bench-app-%02d", i) }

func appLabels(name string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "bench", "app.kubernetes.io/managed-by": "helm"}
}

func appPodSpec(name string) corev1.PodSpec {
	env := make([]corev1.EnvVar, 0, 12)
	for k := range 10 {
		env = append(env, corev1.EnvVar{Name: fmt.Sprintf("SETTING_%02d", k), Value: fmt.Sprintf("value-%02d-of-%s", k, name)})
	}
	env = append(env, corev1.EnvVar{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}})
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
	}
	return corev1.PodSpec{
		Containers: []corev1.Container{
			{Name: "main", Image: "registry.example/" + name + ":v1.2.3", Args: []string{"--metrics-bind-address=:8080", "--leader-elect"},
				Env: env, Resources: res, Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 8080}},
				VolumeMounts:   []corev1.VolumeMount{{Name: "config", MountPath: "/etc/" + name}, {Name: "tmp", MountPath: "/tmp"}},
				LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8081)}}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8081)}}}},
			{Name: "sidecar", Image: "registry.example/proxy:v0.9.0", Resources: res},
		},
		Volumes: []corev1.Volume{
			{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "config"}}}},
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
		ServiceAccountName: "default", AutomountServiceAccountToken: ptr.To(false),
	}
}

func appDeployment(ns, name string) *appsv1.Deployment {
	l := appLabels(name)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(10)), Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}, Spec: appPodSpec(name)},
		},
	}
}

func appDaemonSet(ns, name string) *appsv1.DaemonSet {
	l := appLabels(name)
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}, Spec: appPodSpec(name)},
		},
	}
}

func appPod(ns, deployment string, i int) *corev1.Pod {
	l := appLabels(deployment)
	l["pod-template-hash"] = "5d8f7c9b6"
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: fmt.Sprintf("%s-5d8f7c9b6-%05d", deployment, i), Labels: l,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: deployment + "-5d8f7c9b6",
				UID: "00000000-0000-4000-8000-000000000001", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		Spec: appPodSpec(deployment),
	}
}
