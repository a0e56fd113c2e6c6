package webhook

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// objectPtr is a pointer to an API type: *appsv1.Deployment for T
// appsv1.Deployment.
type objectPtr[T any] interface {
	*T
	client.Object
}

// liveByVersion returns the objects of one kind as the API server has them
// now, at the cost of their metadata: it lists the kind's metadata (names
// and resourceVersions) from the API server and keeps the cached copy of
// every object whose resourceVersion is unchanged (an equal
// resourceVersion is an identical object). Objects that changed, or that
// the cache does not hold yet, are read one GET each, or all of them
// through full when more than MaxStale changed. Objects the API server no
// longer has are left out, whatever the cache says. The returned pointers
// may point into cached, which the caller must only read.
func liveByVersion[T any, P objectPtr[T]](ctx context.Context, live client.Reader, gvk schema.GroupVersionKind, ns string,
	cached []T, full func(context.Context) ([]P, error)) ([]P, error) {
	meta := &metav1.PartialObjectMetadataList{}
	meta.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	var opts []client.ListOption
	where := "the cluster"
	if ns != "" {
		opts = append(opts, client.InNamespace(ns))
		where = ns
	}
	if err := live.List(ctx, meta, opts...); err != nil {
		return nil, fmt.Errorf("listing %ss in %s (metadata): %w", gvk.Kind, where, err)
	}
	byKey := make(map[client.ObjectKey]P, len(cached))
	for i := range cached {
		p := P(&cached[i])
		byKey[client.ObjectKeyFromObject(p)] = p
	}
	out := make([]P, 0, len(meta.Items))
	var stale []client.ObjectKey
	for i := range meta.Items {
		key := client.ObjectKeyFromObject(&meta.Items[i])
		if c, ok := byKey[key]; ok && c.GetResourceVersion() == meta.Items[i].ResourceVersion {
			out = append(out, c)
			continue
		}
		stale = append(stale, key)
	}
	if len(stale) > MaxStale {
		return full(ctx)
	}
	for _, key := range stale {
		fresh := P(new(T))
		if err := live.Get(ctx, key, fresh); err != nil {
			if apierrors.IsNotFound(err) {
				continue // deleted since the list
			}
			return nil, fmt.Errorf("reading %s %s: %w", gvk.Kind, key, err)
		}
		out = append(out, fresh)
	}
	return out, nil
}
