package webhook

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/ironic"
)

// cached reads the snapshot from the informer cache: only the indexed
// (blocking) hosts of the namespace, the indexed Ironic workloads and pods
// (cachedIronic) and, for a pause with no Ironic in the cluster, BMO and
// where it sends its Ironic calls.
func (h *Handler) cached(ctx context.Context, t Target) (Evidence, error) {
	ns := t.Namespace
	var hosts bmov1alpha1.BareMetalHostList
	if err := h.Cache.List(ctx, &hosts, client.InNamespace(ns), client.MatchingFields{HostIndex: "true"}); err != nil {
		return Evidence{}, fmt.Errorf("listing BareMetalHosts in %s: %w", ns, err)
	}
	is, bmos, err := h.cachedIronic(ctx)
	if err != nil {
		return Evidence{}, err
	}
	snap := Evidence{Hosts: pointers(hosts.Items), Ironic: ironic.Running(is, h.Workloads)}
	if t.Gate == GatePause && len(snap.Ironic) == 0 {
		if snap.BMO, err = h.bmoInfo(ctx, bmos); err != nil {
			return Evidence{}, err
		}
	}
	return snap, nil
}

// bmoInfo finds BMO among the cached BMO Deployments and reads its Ironic
// endpoint with the cached ConfigMaps of its namespace; nil when no BMO.
func (h *Handler) bmoInfo(ctx context.Context, deps []appsv1.Deployment) (*BMOInfo, error) {
	d, _ := bmo.Find(deps)
	if d == nil {
		return nil, nil
	}
	var cms corev1.ConfigMapList
	if err := h.Cache.List(ctx, &cms, client.InNamespace(d.Namespace)); err != nil {
		return nil, fmt.Errorf("listing ConfigMaps in %s: %w", d.Namespace, err)
	}
	endpoint, _ := bmo.IronicEndpoint(d, cms.Items)
	return &BMOInfo{Deployment: d.Namespace + "/" + d.Name, Endpoint: endpoint}, nil
}

// live reads the allow-path snapshot from the API server, in parallel:
// every host of the namespace and every Deployment and DaemonSet of the
// cluster as they are now (liveByVersion: their metadata, and the cached
// copy of each one that has not changed), and the pods labelled as
// Ironic's, which the API server selects. (Unlabelled leftover
// pods of a named workload are seen in the cache only: listing every pod
// of the cluster would cost more than all the other reads together.)
func (h *Handler) live(ctx context.Context, ns string) (Evidence, error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout())
	defer cancel()
	var (
		hosts []*bmov1alpha1.BareMetalHost
		deps  []appsv1.Deployment
		dss   []appsv1.DaemonSet
		irso  unstructured.UnstructuredList
	)
	podSelectors := []*corev1.PodList{{}, {}}
	byName, _ := labels.NewRequirement(ironic.PodLabel, selection.Equals, []string{ironic.PodLabelVal})
	irsoLabel, _ := labels.NewRequirement(ironic.IrSOPodLabel, selection.Exists, nil)

	g, gctx := errgroup.WithContext(ctx)
	list := func(what string, l client.ObjectList, opts ...client.ListOption) {
		g.Go(func() error {
			if err := h.Live.List(gctx, l, opts...); err != nil {
				return fmt.Errorf("listing %s: %w", what, err)
			}
			return nil
		})
	}
	g.Go(func() error {
		var err error
		hosts, err = h.liveHosts(gctx, ns)
		return err
	})
	g.Go(func() error {
		var cached appsv1.DeploymentList
		if err := h.Cache.List(gctx, &cached, client.UnsafeDisableDeepCopy); err != nil {
			return fmt.Errorf("listing cached Deployments: %w", err)
		}
		live, err := liveByVersion(gctx, h.Live, appsv1.SchemeGroupVersion.WithKind("Deployment"), "", cached.Items,
			func(ctx context.Context) ([]*appsv1.Deployment, error) {
				var l appsv1.DeploymentList
				if err := h.Live.List(ctx, &l); err != nil {
					return nil, fmt.Errorf("listing Deployments: %w", err)
				}
				return pointers(l.Items), nil
			})
		deps = values(live)
		return err
	})
	g.Go(func() error {
		var cached appsv1.DaemonSetList
		if err := h.Cache.List(gctx, &cached, client.UnsafeDisableDeepCopy); err != nil {
			return fmt.Errorf("listing cached DaemonSets: %w", err)
		}
		live, err := liveByVersion(gctx, h.Live, appsv1.SchemeGroupVersion.WithKind("DaemonSet"), "", cached.Items,
			func(ctx context.Context) ([]*appsv1.DaemonSet, error) {
				var l appsv1.DaemonSetList
				if err := h.Live.List(ctx, &l); err != nil {
					return nil, fmt.Errorf("listing DaemonSets: %w", err)
				}
				return pointers(l.Items), nil
			})
		dss = values(live)
		return err
	})
	list("pods labelled "+byName.String(), podSelectors[0], client.MatchingLabelsSelector{Selector: labels.NewSelector().Add(*byName)})
	list("pods labelled "+irsoLabel.String(), podSelectors[1], client.MatchingLabelsSelector{Selector: labels.NewSelector().Add(*irsoLabel)})
	if h.IrSO != nil {
		irso.SetGroupVersionKind(h.IrSO.GroupVersion().WithKind(h.IrSO.Kind + "List"))
		list(h.IrSO.Kind, &irso)
	}
	if err := g.Wait(); err != nil {
		return Evidence{}, err
	}
	if err := ctx.Err(); err != nil {
		return Evidence{}, err
	}
	podSeen := map[string]bool{}
	var pods []corev1.Pod
	for _, l := range podSelectors {
		for _, p := range l.Items {
			if k := p.Namespace + "/" + p.Name; !podSeen[k] {
				podSeen[k] = true
				pods = append(pods, p)
			}
		}
	}
	slices.SortFunc(pods, func(a, b corev1.Pod) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	is := ironic.Objects{Deployments: deps, DaemonSets: dss, Pods: pods, IrSO: irso.Items}
	return Evidence{Hosts: hosts, Ironic: ironic.Running(is, h.Workloads)}, nil
}

// sharedLive joins concurrent live confirmations of one namespace: a burst
// of gated requests (clusterctl's retries, many dry-run preflights, a load
// test) then costs one set of live reads instead of one per request. A
// joiner gets a read that started at most one read duration before it
// arrived; completed results are never reused.
func (h *Handler) sharedLive(ctx context.Context, ns string) (Evidence, error) {
	ch := h.flight.DoChan(ns, func() (any, error) {
		// Detached from the first caller's context so its cancellation does
		// not fail the joiners; live() applies the read deadline itself.
		return h.live(context.WithoutCancel(ctx), ns)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Evidence{}, r.Err
		}
		return r.Val.(Evidence), nil
	case <-ctx.Done():
		return Evidence{}, ctx.Err()
	}
}

// MaxStale is how many objects of one kind (hosts, Deployments, DaemonSets)
// may differ from the cache before the live confirmation reads the whole
// kind (hosts through HostProjection) instead of one GET each.
const MaxStale = 20

// liveHosts returns the namespace's hosts as the API server has them now
// (liveByVersion), reading every host through LiveHosts when more than
// MaxStale changed. Listing their metadata (protobuf, no status: about 1 KB
// a host) and keeping the unchanged cached copies measured 2-6 times
// faster at 5,000 hosts than reading every host (about 2.4 KB of JSON a
// host the API server must encode, even projected on the client), which
// failed the read budget under load.
func (h *Handler) liveHosts(ctx context.Context, ns string) ([]*bmov1alpha1.BareMetalHost, error) {
	var cached bmov1alpha1.BareMetalHostList
	// No deep copy of the cached hosts: they are only read here, and a copy
	// of each of 5,000 hosts is work the answer does not need.
	if err := h.Cache.List(ctx, &cached, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing cached BareMetalHosts in %s: %w", ns, err)
	}
	return liveByVersion(ctx, h.Live, bmov1alpha1.GroupVersion.WithKind("BareMetalHost"), ns, cached.Items,
		func(ctx context.Context) ([]*bmov1alpha1.BareMetalHost, error) {
			return h.hostLister().ListHosts(ctx, ns)
		})
}

func (h *Handler) hostLister() HostLister {
	if h.LiveHosts != nil {
		return h.LiveHosts
	}
	return fullHosts{h.Live}
}

// pointers returns a pointer to each item, in order.
func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

// values returns a shallow copy of each pointed-to item, in order: the
// copies share maps and slices with the originals, so they are only read.
func values[T any](ptrs []*T) []T {
	out := make([]T, len(ptrs))
	for i, p := range ptrs {
		out[i] = *p
	}
	return out
}
