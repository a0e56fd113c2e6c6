// Generic helpers of the driver: clients, bounded parallelism, formatting.

package move

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/scheme"
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

// newClient builds a client whose client-side rate limit does not dominate
// the run: client-go's default (5 requests/s) turns 100 host patches into 20 s.
// The API server's own priority and fairness still applies.
func newClient(t kube.Target) (client.Client, error) {
	cfg, err := t.RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 100, 200
	c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", t, err)
	}
	return c, nil
}

// parallel runs f for each index with at most 8 calls in flight, returning
// the first error.
func parallel(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := 0; i < n; i++ {
		g.Go(func() error { return f(gctx, i) })
	}
	return g.Wait()
}
