package scenario

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

// Controllers is the full lab: Kubernetes controllers with kwok, BMO, CAPM3
// and IPAM.
var Controllers = lab.Options{Kubernetes: true, BMO: true, CAPM3: true}

// StartPair starts a bootstrap and a target cluster with every controller of
// the lab and Metal3's management components installed on both: Ironic as a
// real Deployment that is Available, BMO's Deployment, clusterctl's
// inventory. Unset fields of the options default to the full lab and to CRDs
// labelled as clusterctl and Metal3's CI label them.
func StartPair(ctx context.Context, bootstrap, target testenv.Options) (*testenv.Pair, error) {
	for _, o := range []*testenv.Options{&bootstrap, &target} {
		if o.LabelCRD == nil {
			o.LabelCRD = testenv.LabelLikeClusterctl
		}
		if o.Lab == nil {
			ctrls := Controllers
			o.Lab = &ctrls
		}
	}
	p, err := testenv.StartPair(ctx, bootstrap, target)
	if err != nil {
		return nil, err
	}
	errs := make(chan error, 2)
	for _, c := range []*testenv.Cluster{p.Bootstrap, p.Target} {
		go func() { errs <- InstallManagement(ctx, c) }()
	}
	if err := errors.Join(<-errs, <-errs); err != nil {
		_ = p.Stop()
		return nil, err
	}
	return p, nil
}

// InstallManagement installs (or re-installs, after a move removed the
// source's Ironic) the management components on c and waits until its
// Ironic Deployment is Available.
func InstallManagement(ctx context.Context, c *testenv.Cluster) error {
	m := fixture.Management{
		Ironic: ptr.To(int32(1)), Keepalived: true, BMOVersion: fixture.BMODefaultVersion,
		CAPM3Version: "v1.13.2", Providers: fixture.CAPIProviders(), Lab: true,
	}
	if err := fixture.InstallManagement(ctx, c.Client, m); err != nil {
		return fmt.Errorf("installing Metal3's management components on %s: %w", c.Name, err)
	}
	if err := WaitAvailable(ctx, c, fixture.BMONamespace, fixture.IronicName, 90*time.Second); err != nil {
		return err
	}
	if err := WaitAvailable(ctx, c, fixture.BMONamespace, fixture.BMOName, 90*time.Second); err != nil {
		return err
	}
	return WaitAvailable(ctx, c, fixture.CAPM3Namespace, fixture.CAPM3Name, 90*time.Second)
}

// WaitAvailable waits until the Deployment controller reports ns/name
// Available (its pods run on a fake node).
func WaitAvailable(ctx context.Context, c *testenv.Cluster, ns, name string, timeout time.Duration) error {
	d := &appsv1.Deployment{}
	var readErr error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		d = &appsv1.Deployment{}
		if readErr = c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d); readErr != nil {
			return false, nil // not created yet, or the API server is busy: read again
		}
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if wait.Interrupted(err) && ctx.Err() == nil {
		return fmt.Errorf("Deployment %s/%s in %s not Available within %s (last read: %v, status %+v); controllers: %v", //nolint:staticcheck // starts with the Kind's name
			ns, name, c.Name, timeout, readErr, d.Status, c.Lab.Check()) //nolint:errorlint // the last read's error is often nil
	}
	return err
}

// HostStates returns each host's provisioning state in ns.
func HostStates(ctx context.Context, c client.Reader, ns string) (map[string]bmov1alpha1.ProvisioningState, error) {
	l := &bmov1alpha1.BareMetalHostList{}
	if err := c.List(ctx, l, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing BareMetalHosts in %s: %w", ns, err)
	}
	out := make(map[string]bmov1alpha1.ProvisioningState, len(l.Items))
	for _, h := range l.Items {
		out[h.Name] = h.Status.Provisioning.State
	}
	return out, nil
}

// WaitSettled waits until every host of before is back in its pre-move state
// and unpaused in the target, as the recorder saw it.
func WaitSettled(ctx context.Context, r *Recorder, before map[string]bmov1alpha1.ProvisioningState, timeout time.Duration) error {
	var pending string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		var ok bool
		ok, pending = Settled(before, r.Last())
		return ok, nil
	})
	if wait.Interrupted(err) && ctx.Err() == nil {
		return fmt.Errorf("hosts not settled in the target within %s: %s", timeout, pending)
	}
	return err
}

// PodsGone watches the pods of ns matching labels in the cluster of cfg and
// reports when the last of them went away: the moment a hand-over that
// waits for them may go on. Stop ends the watch; Gone returns zero until
// every pod seen is gone.
type PodsGone struct {
	mu      sync.Mutex
	present map[string]bool
	seen    int
	gone    time.Time
	cancel  context.CancelFunc
	done    chan struct{}
}

// WatchPods starts a PodsGone.
func WatchPods(ctx context.Context, cfg *rest.Config, ns string, labels map[string]string) (*PodsGone, error) {
	c, err := client.NewWithWatch(cfg, client.Options{})
	if err != nil {
		return nil, fmt.Errorf("watch client: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	w, err := c.Watch(ctx, &corev1.PodList{}, client.InNamespace(ns), client.MatchingLabels(labels))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("watching pods in %s: %w", ns, err)
	}
	p := &PodsGone{present: map[string]bool{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer w.Stop()
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			p.mu.Lock()
			switch ev.Type {
			case watch.Added, watch.Modified:
				if !p.present[pod.Name] {
					p.seen++
				}
				p.present[pod.Name] = true
			case watch.Deleted:
				delete(p.present, pod.Name)
				if len(p.present) == 0 {
					p.gone = time.Now()
				}
			}
			p.mu.Unlock()
		}
	}()
	return p, nil
}

// Gone returns when the last pod seen went away (zero if some remain), and
// how many pods were seen.
func (p *PodsGone) Gone() (time.Time, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.present) > 0 {
		return time.Time{}, p.seen
	}
	return p.gone, p.seen
}

// Stop ends the watch.
func (p *PodsGone) Stop() {
	p.cancel()
	<-p.done
}
