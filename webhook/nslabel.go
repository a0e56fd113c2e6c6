package webhook

import (
	"context"
	"fmt"
	"sync"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// The namespace bypass label works in the API server (namespaceSelector),
// so no request in such a namespace ever reaches the webhook. To report it
// anyway, the webhook watches namespace metadata: it logs each namespace
// that gains or loses the label, with its value, and exports how many
// carry it, so an alert can fire on a bypass left in place.

var (
	bypassedOnce sync.Once
	bypassed     prometheus.Gauge
)

// BypassedNamespaces is the gauge of namespaces carrying
// BypassNamespaceLabel, registered once in controller-runtime's registry.
func BypassedNamespaces() prometheus.Gauge {
	bypassedOnce.Do(func() {
		bypassed = prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pivotcheck_webhook_bypassed_namespaces",
			Help: "Namespaces labelled " + BypassNamespaceLabel + ": both webhooks skip every write in them.",
		})
		metrics.Registry.MustRegister(bypassed)
	})
	return bypassed
}

// namespaceMeta is the metadata-only Namespace the cache watches.
func namespaceMeta() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind("Namespace"))
	m.APIVersion, m.Kind = "v1", "Namespace"
	return m
}

// labelWatch tracks which namespaces carry the bypass label.
type labelWatch struct {
	mu   sync.Mutex
	seen map[string]string
	log  logr.Logger
	set  func(float64)
}

func (w *labelWatch) observe(obj any, deleted bool) {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj, deleted = t.Obj, true
	}
	o, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	value, has := o.GetLabels()[BypassNamespaceLabel]
	has = has && !deleted
	w.mu.Lock()
	defer w.mu.Unlock()
	old, had := w.seen[o.GetName()]
	switch {
	case has && (!had || old != value):
		w.seen[o.GetName()] = value
		w.log.Info("namespace bypass label set: the webhooks skip every write in this namespace", "namespace", o.GetName(), "label", BypassNamespaceLabel, "reason", shortReason(value))
	case !has && had:
		delete(w.seen, o.GetName())
		w.log.Info("namespace bypass label removed", "namespace", o.GetName())
	}
	w.set(float64(len(w.seen)))
}

// watchBypassLabel reports the namespaces carrying the bypass label from
// the cache's Namespace informer (warmed by Setup).
func watchBypassLabel(ctx context.Context, c cache.Cache, log logr.Logger) error {
	inf, err := c.GetInformer(ctx, namespaceMeta())
	if err != nil {
		return fmt.Errorf("watching namespaces: %w", err)
	}
	w := &labelWatch{seen: map[string]string{}, log: log, set: BypassedNamespaces().Set}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.observe(obj, false) },
		UpdateFunc: func(_, obj any) { w.observe(obj, false) },
		DeleteFunc: func(obj any) { w.observe(obj, true) },
	}); err != nil {
		return fmt.Errorf("watching namespaces: %w", err)
	}
	return nil
}
