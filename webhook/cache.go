package webhook

import (
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// HostIndex is the cache index of BareMetalHosts for which Considered holds
// (value "true"): the deny path lists only those, never every host.
const HostIndex = "pivotcheck.dev/blocking"

// IndexHost is the HostIndex extractor.
func IndexHost(o client.Object) []string {
	h, ok := o.(*bmov1alpha1.BareMetalHost)
	if !ok || !Considered(h) {
		return nil
	}
	return []string{"true"}
}

// MaxConfigMapValue is the longest ConfigMap value the cache keeps: enough
// for an endpoint URL or a name, while manifests, certificates and scripts
// (the bulk of a cluster's ConfigMaps) are dropped.
const MaxConfigMapValue = 512

// stripConfigMap keeps a ConfigMap's name and short values only: the
// webhook reads BMO's Ironic endpoint from them and nothing else.
func stripConfigMap(o any) (any, error) {
	cm, ok := o.(*corev1.ConfigMap)
	if !ok {
		return o, nil
	}
	out := &corev1.ConfigMap{
		TypeMeta:   cm.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: cm.Name, Namespace: cm.Namespace, UID: cm.UID, ResourceVersion: cm.ResourceVersion},
	}
	for k, v := range cm.Data {
		if len(v) <= MaxConfigMapValue {
			if out.Data == nil {
				out.Data = map[string]string{}
			}
			out.Data[k] = v
		}
	}
	return out, nil
}

// stripPod keeps what ironic.Running reads of a pod (labels, deletion,
// phase), so caching every pod of the cluster stays cheap.
func stripPod(o any) (any, error) {
	p, ok := o.(*corev1.Pod)
	if !ok {
		return o, nil
	}
	return &corev1.Pod{
		TypeMeta: p.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion,
			Labels: p.Labels, DeletionTimestamp: p.DeletionTimestamp, OwnerReferences: p.OwnerReferences,
		},
		Status: corev1.PodStatus{Phase: p.Status.Phase},
	}, nil
}
