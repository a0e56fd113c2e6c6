package movelock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Side is one cluster a run locks, in one namespace.
type Side struct {
	// Name names the cluster in messages ("source", "target" or a kubeconfig).
	Name      string
	Client    client.Client
	Namespace string
	// CreateNamespace creates a missing namespace to hold the Lease
	// (clusterctl creates the target namespace anyway). Without it a
	// missing namespace is not locked: there is nothing in it to protect.
	CreateNamespace bool
}

// Options of Acquire.
type Options struct {
	// Holder is this run's identity (HolderIdentity).
	Holder string
	// TakeOver takes over an expired Lease (never a live one).
	TakeOver bool
	// Duration defaults to DefaultDuration (whole seconds), RenewEvery to an
	// eighth of it (DefaultRenewEvery for the default).
	Duration, RenewEvery time.Duration
	Log                  logr.Logger
	// now is the clock (tests).
	now func() time.Time
}

// HeldError is a refusal: another run holds the Lease of Side.
type HeldError struct {
	Side   string
	Reason string
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s cluster: %s; nothing was changed", e.Side, e.Reason)
}

// Lock is the Leases one run holds, renewed until Release.
type Lock struct {
	opts   Options
	held   []*held
	stop   chan struct{}
	done   chan struct{}
	lost   chan struct{}
	lostMu sync.Once
	// LostReason says why Lost was closed.
	lostReason string
}

type held struct {
	side  Side
	mu    sync.Mutex
	lease *coordinationv1.Lease
}

// Acquire takes the Lease in every side, in order, or none: a refusal on
// one side gives back what it took on the others. It returns a *HeldError
// when another run holds one. The Lock renews the Leases until Release.
func Acquire(ctx context.Context, opts Options, sides ...Side) (*Lock, error) {
	if opts.Duration == 0 {
		opts.Duration = DefaultDuration
	}
	if opts.RenewEvery == 0 {
		// 8 renewals per lease: several may fail in a row before it lapses.
		opts.RenewEvery = opts.Duration / 8
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	if opts.Holder == "" {
		return nil, errors.New("movelock: no holder identity")
	}
	l := &Lock{opts: opts, stop: make(chan struct{}), done: make(chan struct{}), lost: make(chan struct{})}
	for _, s := range sides {
		lease, err := l.acquireOne(ctx, s)
		if err != nil {
			// Give back what this run took on the other sides; the
			// refusal is the error that matters.
			_ = l.releaseHeld(ctx)
			return nil, err
		}
		if lease != nil {
			l.held = append(l.held, &held{side: s, lease: lease})
		}
	}
	go l.renew()
	return l, nil
}

func (l *Lock) acquireOne(ctx context.Context, s Side) (*coordinationv1.Lease, error) {
	ns := &corev1.Namespace{}
	err := s.Client.Get(ctx, client.ObjectKey{Name: s.Namespace}, ns)
	switch {
	case apierrors.IsNotFound(err) && !s.CreateNamespace:
		return nil, nil
	case apierrors.IsNotFound(err):
		ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.Namespace}}
		if err := s.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("%s cluster: creating namespace %s to hold the Lease %s: %w", s.Name, s.Namespace, LeaseName, err)
		}
	case err != nil:
		return nil, fmt.Errorf("%s cluster: reading namespace %s: %w", s.Name, s.Namespace, err)
	}
	// Two tries: a create or update that loses a race reads the winner.
	for range 2 {
		cur := &coordinationv1.Lease{}
		err := s.Client.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: LeaseName}, cur)
		switch {
		case apierrors.IsNotFound(err):
			cur = nil
		case err != nil:
			return nil, fmt.Errorf("%s cluster: reading Lease %s/%s: %w", s.Name, s.Namespace, LeaseName, err)
		}
		now := l.opts.now()
		gone := false
		if cur != nil {
			gone = HolderGone(ptr.Deref(cur.Spec.HolderIdentity, ""))
		}
		d := Decide(cur, l.opts.Holder, now, l.opts.TakeOver, gone)
		mt := metav1.NewMicroTime(now)
		spec := coordinationv1.LeaseSpec{HolderIdentity: ptr.To(l.opts.Holder), LeaseDurationSeconds: ptr.To(int32(l.opts.Duration / time.Second)),
			AcquireTime: &mt, RenewTime: &mt}
		switch d.Action {
		case Refuse:
			return nil, &HeldError{Side: s.Name, Reason: d.Reason}
		case Create:
			lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: LeaseName,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "pivotcheck"}}, Spec: spec}
			err = s.Client.Create(ctx, lease)
			if err == nil {
				return lease, nil
			}
			if !apierrors.IsAlreadyExists(err) {
				return nil, fmt.Errorf("%s cluster: creating Lease %s/%s: %w", s.Name, s.Namespace, LeaseName, err)
			}
		case Renew, Take:
			if d.Action == Take {
				l.opts.Log.Info("taking over the Lease", "cluster", s.Name, "namespace", s.Namespace, "previousHolder", ptr.Deref(cur.Spec.HolderIdentity, ""))
				spec.LeaseTransitions = ptr.To(ptr.Deref(cur.Spec.LeaseTransitions, 0) + 1)
			} else {
				spec.AcquireTime, spec.LeaseTransitions = cur.Spec.AcquireTime, cur.Spec.LeaseTransitions
			}
			cur.Spec = spec
			err = s.Client.Update(ctx, cur)
			if err == nil {
				return cur, nil
			}
			if !apierrors.IsConflict(err) {
				return nil, fmt.Errorf("%s cluster: taking Lease %s/%s: %w", s.Name, s.Namespace, LeaseName, err)
			}
		}
	}
	return nil, fmt.Errorf("%s cluster: Lease %s/%s changed twice while it was being taken: another run is starting", s.Name, s.Namespace, LeaseName)
}

// Lost is closed when a renewal finds the Lease held by someone else (it
// was taken over): the run must stop.
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// LostReason says why Lost was closed.
func (l *Lock) LostReason() string {
	select {
	case <-l.lost:
		return l.lostReason
	default:
		return ""
	}
}

func (l *Lock) markLost(why string) {
	l.lostMu.Do(func() {
		l.lostReason = why
		close(l.lost)
	})
}

func (l *Lock) renew() {
	defer close(l.done)
	t := time.NewTicker(l.opts.RenewEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		for _, h := range l.held {
			ctx, cancel := context.WithTimeout(context.Background(), l.opts.RenewEvery)
			err := l.renewOne(ctx, h)
			cancel()
			if err != nil {
				l.opts.Log.Info("renewing the Lease failed; trying again", "cluster", h.side.Name, "namespace", h.side.Namespace, "error", err.Error())
			}
		}
	}
}

func (l *Lock) renewOne(ctx context.Context, h *held) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	cur := &coordinationv1.Lease{}
	if err := h.side.Client.Get(ctx, client.ObjectKeyFromObject(h.lease), cur); err != nil {
		if apierrors.IsNotFound(err) {
			l.markLost(fmt.Sprintf("%s cluster: Lease %s/%s was deleted by someone else", h.side.Name, h.side.Namespace, LeaseName))
		}
		return err
	}
	if holder := ptr.Deref(cur.Spec.HolderIdentity, ""); holder != l.opts.Holder {
		l.markLost(fmt.Sprintf("%s cluster: Lease %s/%s was taken over by %s", h.side.Name, h.side.Namespace, LeaseName, holder))
		return nil
	}
	cur.Spec.RenewTime = ptr.To(metav1.NewMicroTime(l.opts.now()))
	if err := h.side.Client.Update(ctx, cur); err != nil {
		return err
	}
	h.lease = cur
	return nil
}

// Release stops renewing and deletes every Lease that is still this run's
// (a Lease taken over by someone else is left to them). It uses its own
// 5 s budget, so it also runs after the run's context was cancelled.
func (l *Lock) Release(ctx context.Context) error {
	close(l.stop)
	<-l.done
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return l.releaseHeld(ctx)
}

func (l *Lock) releaseHeld(ctx context.Context) error {
	var errs []error
	for _, h := range l.held {
		h.mu.Lock()
		lease := h.lease
		h.mu.Unlock()
		err := h.side.Client.Delete(ctx, lease, client.Preconditions{UID: ptr.To(types.UID(lease.UID)), ResourceVersion: ptr.To(lease.ResourceVersion)})
		if apierrors.IsConflict(err) {
			// Changed since our last renewal: delete it only if still ours.
			cur := &coordinationv1.Lease{}
			if err = h.side.Client.Get(ctx, client.ObjectKeyFromObject(lease), cur); err == nil && ptr.Deref(cur.Spec.HolderIdentity, "") == l.opts.Holder {
				err = h.side.Client.Delete(ctx, cur, client.Preconditions{UID: ptr.To(cur.UID), ResourceVersion: ptr.To(cur.ResourceVersion)})
			}
		}
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("%s cluster: releasing Lease %s/%s: %w", h.side.Name, h.side.Namespace, LeaseName, err))
		}
	}
	l.held = nil
	return errors.Join(errs...)
}
