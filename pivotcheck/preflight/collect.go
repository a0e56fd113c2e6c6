package preflight

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"golang.org/x/sync/errgroup"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// Collect lists everything the checks need from both clusters: each type
// once per cluster, both clusters and clusterctl's dry run concurrently.
// An error means the clusters could not be checked (exit 2).
func Collect(ctx context.Context, opts Options) (*Snapshot, error) {
	src, err := newSideCollector("source", opts.Source, opts.Namespace)
	if err != nil {
		return nil, err
	}
	dst, err := newSideCollector("target", opts.Target, opts.Namespace)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{Namespace: opts.Namespace, IronicWorkloads: opts.IronicWorkloads}

	// clusterctl's dry run is the slowest read; it runs alongside ours and
	// is cancelled when our reads fail (clusterctl retries for minutes).
	planCtx, cancelPlan := context.WithCancel(ctx)
	defer cancelPlan()
	var planWG sync.WaitGroup
	planWG.Go(func() {
		snap.Plan, snap.PlanErr = planFunc(planCtx, opts.Source, opts.Namespace, opts.Log)
	})
	if opts.IronicURL != "" {
		planWG.Go(func() {
			snap.IronicProbe = ironic.ProbeAPI(ctx, opts.IronicURL)
		})
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return src.clusterWide(gctx, &snap.Source) })
	g.Go(func() error { return dst.clusterWide(gctx, &snap.Target) })
	err = g.Wait()
	if err == nil {
		err = src.namespaced(ctx, &snap.Source, true, nil)
	}
	if err == nil {
		err = dst.namespaced(ctx, &snap.Target, false, presentKinds(snap.Source.Objects))
	}
	if err != nil {
		cancelPlan()
	}
	planWG.Wait()
	if err != nil {
		return nil, err
	}
	if opts.ProbeSourceIronic {
		snap.SourceIronicProbe = probeSourceIronic(ctx, snap)
	}
	if snap.PlanErr != nil && (apierrors.IsForbidden(snap.PlanErr) || apierrors.IsUnauthorized(snap.PlanErr)) {
		return nil, fmt.Errorf("source cluster: clusterctl's dry run was denied: %w", snap.PlanErr)
	}
	return snap, nil
}

// planFunc is clusterctl's dry run; the benchmark swaps it to time
// preflight's own reads and checks apart from clusterctl's discovery.
var planFunc = mover.Plan

type sideCollector struct {
	name string
	c    client.Client
	ns   string
	host string
}

// collectRate: client-go's default 5 QPS would throttle the ~40 concurrent
// LISTs of one snapshot for seconds; clusterctl itself uses 500.
var collectRate = kube.Rate{QPS: 200, Burst: 400}

func newSideCollector(name string, t kube.Cluster, ns string) (*sideCollector, error) {
	c, cfg, err := t.Client(collectRate)
	if err != nil {
		return nil, fmt.Errorf("%s cluster: %w", name, err)
	}
	return &sideCollector{name: name, c: c, ns: ns, host: cfg.Host}, nil
}

// listErr turns a LIST failure into the one-line reason of exit code 2,
// naming the resource (a missing permission names it twice: ours and the API server's).
func (sc *sideCollector) listErr(resource, ns string, err error) error {
	where := "cluster-wide"
	if ns != "" {
		where = "in namespace " + ns
	}
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("%s cluster: missing permission to list %s %s: %w", sc.name, resource, where, err)
	}
	return fmt.Errorf("%s cluster: listing %s %s: %w", sc.name, resource, where, err)
}

// list lists into l; a kind whose CRD is not installed yields nothing.
func (sc *sideCollector) list(ctx context.Context, resource string, l client.ObjectList, opts ...client.ListOption) error {
	err := sc.c.List(ctx, l, opts...)
	if kube.KindMissing(err) {
		return nil
	}
	if err != nil {
		ns := ""
		for _, o := range opts {
			if in, ok := o.(client.InNamespace); ok {
				ns = string(in)
			}
		}
		return sc.listErr(resource, ns, err)
	}
	return nil
}

// clusterWide lists the cluster-scoped and all-namespace types.
func (sc *sideCollector) clusterWide(ctx context.Context, s *Side) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		id, err := kube.ReadIdentity(ctx, sc.c, sc.host)
		if err != nil {
			return fmt.Errorf("%s cluster: %w", sc.name, err)
		}
		s.Identity = id
		return nil
	})
	g.Go(func() error {
		l := &apiextensionsv1.CustomResourceDefinitionList{}
		if err := sc.list(ctx, "customresourcedefinitions.apiextensions.k8s.io", l); err != nil {
			return err
		}
		s.CRDs = l.Items
		// IrSO's Ironic resources only exist where its CRD does.
		for _, crd := range l.Items {
			if crd.Spec.Group == ironic.IrSOGroup && crd.Spec.Names.Kind == "Ironic" {
				ul := &unstructured.UnstructuredList{}
				ul.SetGroupVersionKind(schema.GroupVersionKind{Group: crd.Spec.Group, Version: storageVersion(&crd), Kind: "IronicList"})
				if err := sc.list(ctx, crd.Name, ul); err != nil {
					return err
				}
				s.IrSO = ul.Items
			}
		}
		return nil
	})
	g.Go(func() error {
		l := &clusterctlv1.ProviderList{}
		if err := sc.list(ctx, "providers.clusterctl.cluster.x-k8s.io", l); err != nil {
			return err
		}
		s.Providers = l.Items
		return nil
	})
	g.Go(func() error {
		l := &appsv1.DeploymentList{}
		if err := sc.list(ctx, "deployments.apps", l); err != nil {
			return err
		}
		s.Deployments = l.Items
		return nil
	})
	g.Go(func() error {
		l := &appsv1.DaemonSetList{}
		if err := sc.list(ctx, "daemonsets.apps", l); err != nil {
			return err
		}
		s.DaemonSets = l.Items
		return nil
	})
	g.Go(func() error {
		l := &corev1.PodList{}
		if err := sc.list(ctx, "pods", l); err != nil {
			return err
		}
		s.Pods = l.Items
		return nil
	})
	g.Go(func() error {
		// Full ConfigMaps: Ironic's envFrom settings live in them.
		l := &corev1.ConfigMapList{}
		if err := sc.list(ctx, "configmaps", l); err != nil {
			return err
		}
		s.ConfigMaps = l.Items
		return nil
	})
	g.Go(func() error {
		l := &admissionregistrationv1.ValidatingWebhookConfigurationList{}
		if err := sc.list(ctx, "validatingwebhookconfigurations.admissionregistration.k8s.io", l); err != nil {
			return err
		}
		s.Webhooks = l.Items
		return nil
	})
	g.Go(func() error {
		// A LIST with a field selector, not a GET: the same verb as everything else.
		l := &corev1.NamespaceList{}
		if err := sc.list(ctx, "namespaces", l, client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", sc.ns)}); err != nil {
			return err
		}
		s.NamespaceExists = len(l.Items) > 0
		if s.NamespaceExists {
			s.NamespaceLabels = l.Items[0].Labels
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	return nil
}

// kindKey identifies a kind across clusters.
type kindKey struct{ Group, Kind string }

func presentKinds(objs []metav1.PartialObjectMetadata) map[kindKey]bool {
	out := map[kindKey]bool{}
	for _, o := range objs {
		out[kindKey{o.GroupVersionKind().Group, o.Kind}] = true
	}
	return out
}

// namespaced lists the moved namespace. The source gets typed Clusters,
// Machines, control planes and hosts and metadata of every relevant kind;
// the target only metadata of the kinds present in the source (collisions).
func (sc *sideCollector) namespaced(ctx context.Context, s *Side, source bool, only map[kindKey]bool) error {
	if !source && !s.NamespaceExists {
		return nil
	}
	in := client.InNamespace(sc.ns)
	var mu sync.Mutex
	add := func(objs []metav1.PartialObjectMetadata) {
		mu.Lock()
		s.Objects = append(s.Objects, objs...)
		mu.Unlock()
	}
	g, ctx := errgroup.WithContext(ctx)
	typed := map[kindKey]bool{}
	if source {
		typed = map[kindKey]bool{
			{clusterv1.GroupVersion.Group, "Cluster"}:                  true,
			{clusterv1.GroupVersion.Group, "Machine"}:                  true,
			{controlplanev1.GroupVersion.Group, "KubeadmControlPlane"}: true,
			{bmov1alpha1.GroupVersion.Group, "BareMetalHost"}:          true,
		}
		crdOf := map[kindKey]*apiextensionsv1.CustomResourceDefinition{}
		for i := range s.CRDs {
			crd := &s.CRDs[i]
			crdOf[kindKey{crd.Spec.Group, crd.Spec.Names.Kind}] = crd
		}
		listTyped := func(k kindKey, l client.ObjectList, done func()) {
			crd := crdOf[k]
			if crd == nil {
				return
			}
			g.Go(func() error {
				if err := sc.list(ctx, crd.Name, l, in); err != nil {
					return err
				}
				done()
				items, err := meta.ExtractList(l)
				if err != nil {
					return fmt.Errorf("%s cluster: reading %s list: %w", sc.name, crd.Name, err)
				}
				gv := schema.GroupVersion{Group: k.Group, Version: storageVersion(crd)}
				objs := make([]metav1.PartialObjectMetadata, 0, len(items))
				for _, it := range items {
					mo, ok := it.(metav1.Object)
					if !ok {
						continue
					}
					objs = append(objs, partial(gv.WithKind(k.Kind), mo))
				}
				add(objs)
				return nil
			})
		}
		cl, ml, kl, hl := &clusterv1.ClusterList{}, &clusterv1.MachineList{}, &controlplanev1.KubeadmControlPlaneList{}, &bmov1alpha1.BareMetalHostList{}
		listTyped(kindKey{clusterv1.GroupVersion.Group, "Cluster"}, cl, func() { s.Clusters = cl.Items })
		listTyped(kindKey{clusterv1.GroupVersion.Group, "Machine"}, ml, func() { s.Machines = ml.Items })
		listTyped(kindKey{controlplanev1.GroupVersion.Group, "KubeadmControlPlane"}, kl, func() { s.ControlPlanes = kl.Items })
		listTyped(kindKey{bmov1alpha1.GroupVersion.Group, "BareMetalHost"}, hl, func() { s.Hosts = hl.Items })
	}
	for i := range s.CRDs {
		crd := &s.CRDs[i]
		k := kindKey{crd.Spec.Group, crd.Spec.Names.Kind}
		if typed[k] || !relevantCRD(crd) || (only != nil && !only[k]) {
			continue
		}
		gvk := schema.GroupVersionKind{Group: k.Group, Version: storageVersion(crd), Kind: k.Kind}
		g.Go(func() error {
			objs, err := sc.listMeta(ctx, crd.Name, gvk)
			if err != nil {
				return err
			}
			add(objs)
			return nil
		})
	}
	if only == nil || only[kindKey{"", "Secret"}] {
		g.Go(func() error {
			// Metadata only: Secret data (BMC credentials) never leaves the API server.
			objs, err := sc.listMeta(ctx, "secrets", schema.GroupVersionKind{Version: "v1", Kind: "Secret"})
			if err != nil {
				return err
			}
			add(objs)
			return nil
		})
	}
	if only == nil || only[kindKey{"", "ConfigMap"}] {
		// ConfigMaps were listed cluster-wide already: no second LIST.
		var objs []metav1.PartialObjectMetadata
		gvk := corev1.SchemeGroupVersion.WithKind("ConfigMap")
		for i := range s.ConfigMaps {
			if s.ConfigMaps[i].Namespace == sc.ns {
				objs = append(objs, partial(gvk, &s.ConfigMaps[i]))
			}
		}
		add(objs)
	}
	return g.Wait()
}

func (sc *sideCollector) listMeta(ctx context.Context, resource string, gvk schema.GroupVersionKind) ([]metav1.PartialObjectMetadata, error) {
	l := &metav1.PartialObjectMetadataList{}
	l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := sc.list(ctx, resource, l, client.InNamespace(sc.ns)); err != nil {
		return nil, err
	}
	for i := range l.Items {
		l.Items[i].SetGroupVersionKind(gvk)
	}
	return l.Items, nil
}

func partial(gvk schema.GroupVersionKind, o metav1.Object) metav1.PartialObjectMetadata {
	p := metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Namespace: o.GetNamespace(), Name: o.GetName(), UID: o.GetUID(),
		Labels: o.GetLabels(), Annotations: o.GetAnnotations(), Generation: o.GetGeneration(),
		OwnerReferences: o.GetOwnerReferences(), DeletionTimestamp: o.GetDeletionTimestamp(),
	}}
	p.SetGroupVersionKind(gvk)
	return p
}

func storageVersion(crd *apiextensionsv1.CustomResourceDefinition) string {
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			return v.Name
		}
	}
	if len(crd.Spec.Versions) > 0 {
		return crd.Spec.Versions[0].Name
	}
	return ""
}

// relevantCRD reports whether objects of the CRD's kind must move with the
// cluster: every namespaced Cluster API (and provider) kind, Metal3 IPAM,
// and every metal3.io kind that holds user intent. clusterctl's inventory
// and runtime extensions never move.
func relevantCRD(crd *apiextensionsv1.CustomResourceDefinition) bool {
	if crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
		return false
	}
	g := crd.Spec.Group
	switch {
	case g == clusterctlv1.GroupVersion.Group || g == "runtime.cluster.x-k8s.io":
		return false
	case g == "cluster.x-k8s.io" || strings.HasSuffix(g, ".cluster.x-k8s.io"):
		return true
	case g == "ipam.metal3.io":
		return true
	case g == bmov1alpha1.GroupVersion.Group:
		// Every BMO kind, known or not, except the ones BMO rebuilds in the
		// target (internal/bmo says which and why).
		return bmo.MustMove(crd.Spec.Names.Kind)
	}
	return false
}

// SourceProbeTimeout bounds the probe of the source BMO's Ironic endpoint:
// a stopped Ironic behind a VIP nobody holds does not answer at all.
const SourceProbeTimeout = 3 * time.Second

// probeSourceIronic probes the Ironic endpoint of the source BMO when no
// Ironic runs in the source cluster and the endpoint is a URL.
func probeSourceIronic(ctx context.Context, s *Snapshot) *ironic.ProbeResult {
	if len(ironic.Running(s.Source.ironicObjects(), s.workloads())) > 0 {
		return nil
	}
	ep, ok := sourceIronicEndpoint(s)
	if !ok {
		return nil
	}
	if _, isURL := ironic.NodesURL(ep); !isURL {
		return nil
	}
	r := ironic.Probe(ctx, ep, SourceProbeTimeout)
	return &r
}
