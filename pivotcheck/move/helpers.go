// Generic helpers of the driver: clients, bounded parallelism, formatting.

package move

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"
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

// parallel runs f for each index with at most 8 calls in flight, returning
// the first error.
func parallel(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error { return f(gctx, i) })
	}
	return g.Wait()
}
