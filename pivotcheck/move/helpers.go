// Generic helpers of the driver: clients, bounded parallelism, formatting.

package move

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/kube"
)

func listSuffix(s []string) string {
	if len(s) == 0 {
		return ""
	}
	if len(s) > 5 {
		s = append(s[:5:5], fmt.Sprintf("and %d more", len(s)-5))
	}
	return ": " + strings.Join(s, "; ")
}

func orUnknown(s string) string {
	if s == "" {
		return "version unknown"
	}
	return s
}

func jsonIndent(v any) ([]byte, error) {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(raw, '\n'), nil
}

// apiWorkers bounds pivotcheck's own API calls in flight (per phase and
// cluster); fileWorkers its backup file writes (each ends in an fsync).
const (
	apiWorkers  = 8
	fileWorkers = 16
)

// parallel runs f for each index with at most apiWorkers calls in flight,
// returning the first error.
func parallel(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	return parallelN(ctx, apiWorkers, n, f)
}

// parallelN is parallel with at most limit calls in flight.
func parallelN(ctx context.Context, limit, n int, f func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for i := range n {
		g.Go(func() error { return f(gctx, i) })
	}
	return g.Wait()
}

// listEach lists every gvk in namespace ns (apiWorkers LISTs in flight)
// and calls f with each list, one call at a time; a kind the server does
// not serve is skipped. The first error stops the rest.
func listEach(ctx context.Context, c client.Client, ns string, gvks []schema.GroupVersionKind, f func(schema.GroupVersionKind, *unstructured.UnstructuredList) error) error {
	var mu sync.Mutex
	return parallel(ctx, len(gvks), func(ctx context.Context, i int) error {
		gvk := gvks[i]
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, l, client.InNamespace(ns)); err != nil {
			if kube.KindMissing(err) {
				return nil
			}
			return fmt.Errorf("listing %s in %s: %w", gvk.GroupKind(), ns, err)
		}
		mu.Lock()
		defer mu.Unlock()
		return f(gvk, l)
	})
}
