package ironic

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/kube"
)

// IrSOListGVK is the Ironic Standalone Operator's list kind, at the version
// pivotcheck reads.
var IrSOListGVK = schema.GroupVersionKind{Group: IrSOGroup, Version: "v1alpha1", Kind: "IronicList"}

// List reads from r every object Running can count: all Deployments,
// DaemonSets and Pods of the cluster, and the IrSO Ironic resources (none
// when their CRD is not installed). It is the full read; the webhook reads
// less (the pods labelled as Ironic's, or its cache's index) because it
// answers within the API server's admission timeout.
func List(ctx context.Context, r client.Reader) (Objects, error) {
	var s Objects
	deps := &appsv1.DeploymentList{}
	if err := r.List(ctx, deps); err != nil {
		return s, fmt.Errorf("listing Deployments: %w", err)
	}
	dss := &appsv1.DaemonSetList{}
	if err := r.List(ctx, dss); err != nil {
		return s, fmt.Errorf("listing DaemonSets: %w", err)
	}
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods); err != nil {
		return s, fmt.Errorf("listing Pods: %w", err)
	}
	irso := &unstructured.UnstructuredList{}
	irso.SetGroupVersionKind(IrSOListGVK)
	if err := r.List(ctx, irso); err != nil && !kube.KindMissing(err) {
		return s, fmt.Errorf("listing Ironic resources: %w", err)
	}
	s.Deployments, s.DaemonSets, s.Pods, s.IrSO = deps.Items, dss.Items, pods.Items, irso.Items
	return s, nil
}
