package webhook

import (
	"errors"
	"net/http"
	"sync/atomic"
)

// Readiness tracks whether the cache synced, for the handler and /readyz.
type Readiness struct{ synced atomic.Bool }

// Synced reports whether the cache synced.
func (r *Readiness) Synced() bool { return r.synced.Load() }

// MarkSynced records a synced cache.
func (r *Readiness) MarkSynced() { r.synced.Store(true) }

// Check is a healthz.Checker for /readyz.
func (r *Readiness) Check(*http.Request) error {
	if !r.Synced() {
		return errors.New("informer cache has not synced yet")
	}
	return nil
}
