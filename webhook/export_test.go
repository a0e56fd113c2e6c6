package webhook

import "context"

// LiveSnapshot is the live confirmation's read of ns (tests compare it with
// full reads).
func (h *Handler) LiveSnapshot(ctx context.Context, ns string) (Snapshot, error) {
	return h.live(ctx, ns)
}
