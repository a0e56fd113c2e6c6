package webhook

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// BMHPollInterval is how often a webhook started without BMO's CRD looks
// for it.
const BMHPollInterval = 5 * time.Second

// BMHWatch is whether the webhook watches BareMetalHosts. A webhook
// started before BMO's CRDs were installed (install order, or BMO removed)
// must not crash-loop: it serves, and refuses every gated request with one
// sentence saying the CRD is missing. Once the CRD appears it starts
// watching hosts; until its cache has them, a gated request is refused too,
// since hosts may already exist that it cannot see.
type BMHWatch struct {
	watched atomic.Bool
	// Served reports whether the API server serves BareMetalHosts now
	// (a discovery read).
	Served func(ctx context.Context) (bool, error)
}

// Watched reports whether BareMetalHosts are in the cache.
func (w *BMHWatch) Watched() bool { return w == nil || w.watched.Load() }

// MarkWatched records that BareMetalHosts are in the cache.
func (w *BMHWatch) MarkWatched() { w.watched.Store(true) }

// DiscoveryServed asks the API server's discovery whether it serves
// baremetalhosts in metal3.io/v1alpha1 (no RBAC needed: discovery is open
// to every authenticated identity).
func DiscoveryServed(cfg *rest.Config) (func(ctx context.Context) (bool, error), error) {
	cfg = rest.CopyConfig(cfg)
	// The discovery client takes no context: its own timeout ends a call
	// the caller stopped waiting for.
	cfg.Timeout = DefaultReadTimeout
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating discovery client: %w", err)
	}
	gv := bmov1alpha1.GroupVersion.String()
	return func(ctx context.Context) (bool, error) {
		res, err := serverResources(ctx, dc, gv)
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("discovering %s: %w", gv, err)
		}
		return slices.ContainsFunc(res, func(name string) bool { return name == "baremetalhosts" }), nil
	}, nil
}

func serverResources(ctx context.Context, dc *discovery.DiscoveryClient, gv string) ([]string, error) {
	type result struct {
		names []string
		err   error
	}
	ch := make(chan result, 1)
	go func() {
		l, err := dc.ServerResourcesForGroupVersion(gv)
		var names []string
		if l != nil {
			for _, r := range l.APIResources {
				names = append(names, r.Name)
			}
		}
		ch <- result{names, err}
	}()
	select {
	case r := <-ch:
		return r.names, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// watchWhenServed polls until BareMetalHosts are served, then indexes and
// watches them and marks w watched. It returns when ctx ends; discovery
// errors are logged and retried.
func watchWhenServed(ctx context.Context, w *BMHWatch, c cache.Cache, interval time.Duration, log logr.Logger) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	indexed := false
	for {
		served, err := w.Served(ctx)
		switch {
		case err != nil:
			log.Error(err, "looking for the BareMetalHost CRD")
		case served:
			// IndexField starts the informer (the cache runs already) and
			// indexes what it lists; GetInformer waits for its sync.
			if !indexed {
				if err := c.IndexField(ctx, &bmov1alpha1.BareMetalHost{}, HostIndex, IndexHost); err != nil {
					log.Error(err, "watching BareMetalHosts")
					break
				}
				indexed = true
			}
			if _, err := c.GetInformer(ctx, &bmov1alpha1.BareMetalHost{}); err != nil {
				log.Error(err, "watching BareMetalHosts")
				break
			}
			w.MarkWatched()
			log.Info("BareMetalHost CRD installed; watching BareMetalHosts")
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
