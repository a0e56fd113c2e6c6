package kube

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// An absent CRD, in either form the clients report it, is a missing kind;
// other errors are not.
func TestKindMissing(t *testing.T) {
	gk := schema.GroupKind{Group: "ironic.metal3.io", Kind: "Ironic"}
	gr := schema.GroupResource{Group: gk.Group, Resource: "ironics"}
	require.True(t, KindMissing(&meta.NoKindMatchError{GroupKind: gk, SearchedVersions: []string{"v1alpha1"}}))
	require.True(t, KindMissing(fmt.Errorf("listing: %w", &meta.NoResourceMatchError{PartialResource: gr.WithVersion("")})))
	require.True(t, KindMissing(apierrors.NewNotFound(gr, "")))
	require.False(t, KindMissing(nil))
	require.False(t, KindMissing(apierrors.NewForbidden(gr, "", errors.New("no"))))
	require.False(t, KindMissing(errors.New("connection refused")))
}

func TestPodReady(t *testing.T) {
	pod := func(cs ...corev1.PodCondition) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Conditions: cs}}
	}
	require.True(t, PodReady(pod(corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue})))
	require.False(t, PodReady(pod(corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse})))
	require.False(t, PodReady(pod(corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue})))
	require.False(t, PodReady(pod()))
}
