package kube

import (
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
)

// KindMissing reports whether err says the kind is not served: its CRD is
// not installed (the RESTMapper knows no such kind) or the API server
// answered 404 for its resource. Metal3's optional kinds (IrSO's Ironic,
// CAPM3's) are often absent, and an absent kind holds no objects.
func KindMissing(err error) bool {
	return err != nil && (meta.IsNoMatchError(err) || apierrors.IsNotFound(err))
}

// PodReady reports whether the pod's Ready condition is True.
func PodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
