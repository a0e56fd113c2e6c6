package lab

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CAPIStandIn is a STAND-IN for Cluster API's core controllers (and the
// kubeadm control plane's), which the lab does not run: running them would
// need a workload cluster for every node reference and a control plane
// provider, and their MachineSet controller would create and delete
// Machines of its own. It writes only the status those controllers write
// and that CAPM3 and clusterctl read, from facts the real controllers also
// use:
//   - Cluster: infrastructure provisioned (the v1beta2 field and the v1beta1
//     InfrastructureReady condition CAPM3 reads) once its Metal3Cluster is
//     provisioned; control plane initialized (clusterctl's move requires it)
//     once one of its control-plane Machines has a node;
//   - Machine: bootstrap data created when spec.bootstrap.dataSecretName is
//     set; infrastructure provisioned and a nodeRef (named after the
//     Machine) once the BareMetalHost its Metal3Machine is associated with
//     is provisioned.
//
// Status is never copied by clusterctl move, so in the target the stand-in
// writes it again, as CAPI's controllers there would.
type CAPIStandIn struct {
	c      client.Client // reads from the informer cache, writes to the API
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	err    error
}

const capm3Group = "infrastructure.cluster.x-k8s.io"

// StartCAPIStandIn runs the stand-in against the cluster of cfg until
// Stop. It reads from an informer cache, so a pass costs the API server
// nothing; only its status writes reach it. (Read live, four passes a
// second were most of a lab cluster's API requests.)
func StartCAPIStandIn(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme) (*CAPIStandIn, error) {
	ctx, cancel := context.WithCancel(ctx)
	cc, err := cache.New(cfg, cache.Options{Scheme: scheme})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("lab: the CAPI stand-in's cache: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme, Cache: &client.CacheOptions{Reader: cc, Unstructured: true}})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("lab: the CAPI stand-in's client: %w", err)
	}
	s := &CAPIStandIn{c: c, cancel: cancel, done: make(chan struct{})}
	cacheDone := make(chan struct{})
	go func() {
		defer close(cacheDone)
		_ = cc.Start(ctx)
	}()
	go func() {
		defer close(s.done)
		defer func() { <-cacheDone }()
		// Polling the cache keeps the stand-in tiny; a pass over a test's
		// few dozen objects is a few copies in memory.
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			err := s.pass(ctx)
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s, nil
}

// Err is the error of the last pass (nil when it went through).
func (s *CAPIStandIn) Err() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Stop ends the stand-in.
func (s *CAPIStandIn) Stop() {
	if s == nil {
		return
	}
	s.cancel()
	<-s.done
}

func (s *CAPIStandIn) pass(ctx context.Context) error {
	machines := &clusterv1.MachineList{}
	if err := s.c.List(ctx, machines); err != nil {
		return fmt.Errorf("listing Machines: %w", err)
	}
	cpNode := map[string]bool{} // namespace/cluster -> a control-plane Machine has a node
	for i := range machines.Items {
		m := &machines.Items[i]
		if err := s.machine(ctx, m); err != nil {
			return err
		}
		if _, cp := m.Labels[clusterv1.MachineControlPlaneLabel]; cp && m.Status.NodeRef.IsDefined() {
			cpNode[m.Namespace+"/"+m.Spec.ClusterName] = true
		}
	}
	clusters := &clusterv1.ClusterList{}
	if err := s.c.List(ctx, clusters); err != nil {
		return fmt.Errorf("listing Clusters: %w", err)
	}
	for i := range clusters.Items {
		if err := s.cluster(ctx, &clusters.Items[i], cpNode); err != nil {
			return err
		}
	}
	return nil
}

func (s *CAPIStandIn) cluster(ctx context.Context, cl *clusterv1.Cluster, cpNode map[string]bool) error {
	if cl.DeletionTimestamp != nil || cl.Spec.InfrastructureRef.Kind != "Metal3Cluster" {
		return nil
	}
	m3c := &unstructured.Unstructured{}
	m3c.SetAPIVersion(capm3Group + "/v1beta2")
	m3c.SetKind("Metal3Cluster")
	if err := s.c.Get(ctx, client.ObjectKey{Namespace: cl.Namespace, Name: cl.Spec.InfrastructureRef.Name}, m3c); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading Metal3Cluster %s/%s: %w", cl.Namespace, cl.Spec.InfrastructureRef.Name, err)
	}
	provisioned, _, _ := unstructured.NestedBool(m3c.Object, "status", "initialization", "provisioned")
	cpInit := cpNode[cl.Namespace+"/"+cl.Name]
	want := cl.DeepCopy()
	now := metav1.Now()
	if provisioned {
		want.Status.Initialization.InfrastructureProvisioned = ptr.To(true)
		setV1Beta1(want, clusterv1.InfrastructureReadyV1Beta1Condition, now)
	}
	if cpInit {
		want.Status.Initialization.ControlPlaneInitialized = ptr.To(true)
		if !hasCondition(want.Status.Conditions, clusterv1.ClusterControlPlaneInitializedCondition) {
			want.Status.Conditions = append(want.Status.Conditions, metav1.Condition{
				Type: clusterv1.ClusterControlPlaneInitializedCondition, Status: metav1.ConditionTrue,
				Reason: clusterv1.ClusterControlPlaneInitializedReason, LastTransitionTime: now,
			})
		}
	}
	if provisioned && cpInit {
		want.Status.Phase = string(clusterv1.ClusterPhaseProvisioned)
	}
	if equalClusterStatus(cl, want) {
		return nil
	}
	if err := s.c.Status().Update(ctx, want); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		return fmt.Errorf("writing the status of Cluster %s/%s: %w", cl.Namespace, cl.Name, err)
	}
	return nil
}

func (s *CAPIStandIn) machine(ctx context.Context, m *clusterv1.Machine) error {
	if m.DeletionTimestamp != nil {
		return nil
	}
	want := m.DeepCopy()
	if m.Spec.Bootstrap.DataSecretName != nil {
		want.Status.Initialization.BootstrapDataSecretCreated = ptr.To(true)
	}
	if m.Spec.InfrastructureRef.Kind == "Metal3Machine" {
		provisioned, err := s.hostProvisioned(ctx, m.Namespace, m.Spec.InfrastructureRef.Name)
		if err != nil {
			return err
		}
		if provisioned {
			want.Status.Initialization.InfrastructureProvisioned = ptr.To(true)
			want.Status.NodeRef = clusterv1.MachineNodeReference{Name: m.Name}
			want.Status.Phase = string(clusterv1.MachinePhaseRunning)
		}
	}
	if ptr.Equal(m.Status.Initialization.BootstrapDataSecretCreated, want.Status.Initialization.BootstrapDataSecretCreated) &&
		ptr.Equal(m.Status.Initialization.InfrastructureProvisioned, want.Status.Initialization.InfrastructureProvisioned) &&
		m.Status.NodeRef == want.Status.NodeRef && m.Status.Phase == want.Status.Phase {
		return nil
	}
	if err := s.c.Status().Update(ctx, want); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		return fmt.Errorf("writing the status of Machine %s/%s: %w", m.Namespace, m.Name, err)
	}
	return nil
}

// hostProvisioned reports whether the host CAPM3 associated with the
// Metal3Machine (its metal3.io/BareMetalHost annotation) is provisioned.
func (s *CAPIStandIn) hostProvisioned(ctx context.Context, ns, m3mName string) (bool, error) {
	m3m := &unstructured.Unstructured{}
	m3m.SetAPIVersion(capm3Group + "/v1beta2")
	m3m.SetKind("Metal3Machine")
	if err := s.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: m3mName}, m3m); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("reading Metal3Machine %s/%s: %w", ns, m3mName, err)
	}
	ref := m3m.GetAnnotations()["metal3.io/BareMetalHost"]
	if ref == "" {
		return false, nil
	}
	hostNS, hostName, ok := strings.Cut(ref, "/")
	if !ok {
		hostNS, hostName = ns, ref
	}
	h := &bmov1alpha1.BareMetalHost{}
	if err := s.c.Get(ctx, client.ObjectKey{Namespace: hostNS, Name: hostName}, h); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("reading BareMetalHost %s/%s: %w", hostNS, hostName, err)
	}
	return h.Status.Provisioning.State == bmov1alpha1.StateProvisioned, nil
}

func setV1Beta1(cl *clusterv1.Cluster, t clusterv1.ConditionType, now metav1.Time) {
	if cl.Status.Deprecated == nil {
		cl.Status.Deprecated = &clusterv1.ClusterDeprecatedStatus{}
	}
	if cl.Status.Deprecated.V1Beta1 == nil {
		cl.Status.Deprecated.V1Beta1 = &clusterv1.ClusterV1Beta1DeprecatedStatus{}
	}
	for _, c := range cl.Status.Deprecated.V1Beta1.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return
		}
	}
	cl.Status.Deprecated.V1Beta1.Conditions = append(cl.Status.Deprecated.V1Beta1.Conditions,
		clusterv1.Condition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
}

func hasCondition(cs []metav1.Condition, t string) bool {
	for _, c := range cs {
		if c.Type == t && c.Status == metav1.ConditionTrue {
			return true
		}
	}
	return false
}

func equalClusterStatus(a, b *clusterv1.Cluster) bool {
	return ptr.Equal(a.Status.Initialization.InfrastructureProvisioned, b.Status.Initialization.InfrastructureProvisioned) &&
		ptr.Equal(a.Status.Initialization.ControlPlaneInitialized, b.Status.Initialization.ControlPlaneInitialized) &&
		a.Status.Phase == b.Status.Phase && len(a.Status.Conditions) == len(b.Status.Conditions) &&
		v1beta1Count(a) == v1beta1Count(b)
}

func v1beta1Count(cl *clusterv1.Cluster) int {
	if cl.Status.Deprecated == nil || cl.Status.Deprecated.V1Beta1 == nil {
		return 0
	}
	return len(cl.Status.Deprecated.V1Beta1.Conditions)
}
