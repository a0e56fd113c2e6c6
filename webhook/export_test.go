package webhook

import "context"

// LiveEvidence is the live confirmation's read of ns (tests compare it with
// full reads).
func (h *Handler) LiveEvidence(ctx context.Context, ns string) (Evidence, error) {
	return h.live(ctx, ns)
}
