package move

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/watch"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/scheme"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

// invariantWatch watches, straight from both API servers (not through a
// test proxy), every BareMetalHost of one namespace on both sides and the
// source Ironic Deployment, and checks on every change:
//   - no host is unpaused in both clusters at once;
//   - the source Ironic is not gone while a source host that was not
//     handed over (pivotcheck's pause and a status annotation) is still
//     owned by the source (not being deleted by clusterctl's move).
//
// A suspected violation is confirmed with direct reads before it counts,
// because the streams of the two clusters are not ordered with each other.
type invariantWatch struct {
	ns     string
	mu     sync.Mutex
	src    map[string]*bmov1alpha1.BareMetalHost
	dst    map[string]*bmov1alpha1.BareMetalHost
	ironic bool
	seen   int
	bad    map[string]bool
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func watchInvariants(t *testing.T, ns string) *invariantWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &invariantWatch{ns: ns, src: map[string]*bmov1alpha1.BareMetalHost{}, dst: map[string]*bmov1alpha1.BareMetalHost{}, bad: map[string]bool{}, cancel: cancel}
	srcC, err := client.NewWithWatch(pair.Bootstrap.Config, client.Options{Scheme: scheme.Scheme})
	require.NoError(t, err)
	dstC, err := client.NewWithWatch(pair.Target.Config, client.Options{Scheme: scheme.Scheme})
	require.NoError(t, err)
	w.loop(ctx, srcC, &bmov1alpha1.BareMetalHostList{}, []client.ListOption{client.InNamespace(ns)}, func(e watch.Event) {
		w.host(w.src, e)
	})
	w.loop(ctx, dstC, &bmov1alpha1.BareMetalHostList{}, []client.ListOption{client.InNamespace(ns)}, func(e watch.Event) {
		w.host(w.dst, e)
	})
	w.loop(ctx, srcC, &appsv1.DeploymentList{}, []client.ListOption{client.InNamespace(fixture.BMONamespace)}, func(e watch.Event) {
		d, ok := e.Object.(*appsv1.Deployment)
		if !ok || d.Name != fixture.IronicName {
			return
		}
		w.mu.Lock()
		w.ironic = e.Type != watch.Deleted && (d.Spec.Replicas == nil || *d.Spec.Replicas > 0)
		w.mu.Unlock()
	})
	// Let the initial ADDED events arrive.
	require.Eventually(t, func() bool { w.mu.Lock(); defer w.mu.Unlock(); return w.ironic && len(w.src) > 0 }, 10*time.Second, 10*time.Millisecond)
	return w
}

func (w *invariantWatch) loop(ctx context.Context, c client.WithWatch, list client.ObjectList, opts []client.ListOption, apply func(watch.Event)) {
	w.wg.Go(func() {
		for ctx.Err() == nil {
			wi, err := c.Watch(ctx, list, opts...)
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			for e := range wi.ResultChan() {
				if e.Type == watch.Error || e.Type == watch.Bookmark {
					continue
				}
				apply(e)
				w.check(ctx)
			}
			wi.Stop()
		}
	})
}

func (w *invariantWatch) host(m map[string]*bmov1alpha1.BareMetalHost, e watch.Event) {
	h, ok := e.Object.(*bmov1alpha1.BareMetalHost)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen++
	if e.Type == watch.Deleted {
		delete(m, h.Name)
		return
	}
	m[h.Name] = h
}

func paused(h *bmov1alpha1.BareMetalHost) bool {
	_, ok := h.Annotations[bmov1alpha1.PausedAnnotation]
	return ok
}

func handedOver(h *bmov1alpha1.BareMetalHost) bool {
	_, status := h.Annotations[bmov1alpha1.StatusAnnotation]
	_, leaving := h.Annotations[clusterctlv1.DeleteForMoveAnnotation]
	return leaving || h.DeletionTimestamp != nil || (h.Annotations[bmov1alpha1.PausedAnnotation] == hostsafety.PivotcheckPauseValue && status)
}

// violations evaluates both invariants over one consistent view.
func violations(src, dst map[string]*bmov1alpha1.BareMetalHost, ironicRuns bool) []string {
	var out []string
	for n, s := range src {
		if d, ok := dst[n]; ok && !paused(s) && !paused(d) {
			out = append(out, fmt.Sprintf("BareMetalHost %s is unpaused in both clusters", n))
		}
		if !ironicRuns && !handedOver(s) {
			out = append(out, fmt.Sprintf("the source Ironic is gone while the source still owns BareMetalHost %s, which was not handed over", n))
		}
	}
	slices.Sort(out)
	return out
}

func (w *invariantWatch) check(ctx context.Context) {
	w.mu.Lock()
	suspect := violations(w.src, w.dst, w.ironic)
	w.mu.Unlock()
	if len(suspect) == 0 {
		return
	}
	// Confirm with one read of each side.
	src, dst, ironicRuns, err := readInvariantState(ctx, w.ns)
	if err != nil {
		return
	}
	confirmed := violations(src, dst, ironicRuns)
	w.mu.Lock()
	for _, v := range confirmed {
		w.bad[v] = true
	}
	w.mu.Unlock()
}

func readInvariantState(ctx context.Context, ns string) (src, dst map[string]*bmov1alpha1.BareMetalHost, ironicRuns bool, err error) {
	read := func(c *testenv.Cluster) (map[string]*bmov1alpha1.BareMetalHost, error) {
		l := &bmov1alpha1.BareMetalHostList{}
		if err := c.Client.List(ctx, l, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		m := map[string]*bmov1alpha1.BareMetalHost{}
		for i := range l.Items {
			m[l.Items[i].Name] = &l.Items[i]
		}
		return m, nil
	}
	if src, err = read(pair.Bootstrap); err != nil {
		return
	}
	if dst, err = read(pair.Target); err != nil {
		return
	}
	d := &appsv1.Deployment{}
	err = pair.Bootstrap.Client.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, d)
	if client.IgnoreNotFound(err) != nil {
		return nil, nil, false, err
	}
	ironicRuns = err == nil && d.DeletionTimestamp == nil && (d.Spec.Replicas == nil || *d.Spec.Replicas > 0)
	return src, dst, ironicRuns, nil
}

// stop ends the watches and returns every confirmed violation and the
// number of host events seen.
func (w *invariantWatch) stop() ([]string, int) {
	w.cancel()
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Sorted(maps.Keys(w.bad)), w.seen
}

func TestInvariantViolations(t *testing.T) {
	h := func(ann map[string]string) *bmov1alpha1.BareMetalHost {
		b := &bmov1alpha1.BareMetalHost{}
		b.Annotations = ann
		return b
	}
	mine := map[string]string{bmov1alpha1.PausedAnnotation: hostsafety.PivotcheckPauseValue, bmov1alpha1.StatusAnnotation: "{}"}
	require.Empty(t, violations(map[string]*bmov1alpha1.BareMetalHost{"a": h(nil)}, nil, true))
	require.Equal(t, []string{"BareMetalHost a is unpaused in both clusters"},
		violations(map[string]*bmov1alpha1.BareMetalHost{"a": h(nil)}, map[string]*bmov1alpha1.BareMetalHost{"a": h(nil)}, true))
	require.Empty(t, violations(map[string]*bmov1alpha1.BareMetalHost{"a": h(nil)}, map[string]*bmov1alpha1.BareMetalHost{"a": h(mine)}, true))
	require.Equal(t, []string{"the source Ironic is gone while the source still owns BareMetalHost a, which was not handed over"},
		violations(map[string]*bmov1alpha1.BareMetalHost{"a": h(nil)}, nil, false))
	require.Empty(t, violations(map[string]*bmov1alpha1.BareMetalHost{"a": h(mine), "b": h(map[string]string{clusterctlv1.DeleteForMoveAnnotation: ""})}, nil, false))
}
