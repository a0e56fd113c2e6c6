package scenario

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/scheme"
)

// Recorder watches the BareMetalHosts of one namespace and keeps, per host,
// every provisioning state it passes through, from its first appearance.
// A watch delivers every change, so no state is missed between polls.
type Recorder struct {
	mu     sync.Mutex
	states map[string][]bmov1alpha1.ProvisioningState
	pauses map[string][]string
	paused map[string]time.Time // when each host was first seen with each pause value: host + "\x00" + value
	first  time.Time            // when the first host was seen
	last   map[string]*bmov1alpha1.BareMetalHost
	err    error
	cancel context.CancelFunc
	done   chan struct{}
}

// Record starts watching ns in the cluster of cfg. Stop ends it.
func Record(ctx context.Context, cfg *rest.Config, ns string) (*Recorder, error) {
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return nil, fmt.Errorf("watch client: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Recorder{states: map[string][]bmov1alpha1.ProvisioningState{}, pauses: map[string][]string{}, paused: map[string]time.Time{}, last: map[string]*bmov1alpha1.BareMetalHost{}, cancel: cancel, done: make(chan struct{})}
	// List first so hosts that already exist are seen, then watch from
	// that resourceVersion.
	list := &bmov1alpha1.BareMetalHostList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		cancel()
		return nil, fmt.Errorf("listing BareMetalHosts in %s: %w", ns, err)
	}
	for i := range list.Items {
		r.observe(&list.Items[i])
	}
	rv := list.ResourceVersion
	go func() {
		defer close(r.done)
		for ctx.Err() == nil {
			w, err := c.Watch(ctx, &bmov1alpha1.BareMetalHostList{}, client.InNamespace(ns), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}})
			if err != nil {
				if ctx.Err() == nil {
					r.fail(fmt.Errorf("watching BareMetalHosts in %s: %w", ns, err))
				}
				return
			}
			for ev := range w.ResultChan() {
				switch ev.Type {
				case watch.Added, watch.Modified:
					h, ok := ev.Object.(*bmov1alpha1.BareMetalHost)
					if ok {
						rv = h.ResourceVersion
						r.observe(h)
					}
				case watch.Error:
					w.Stop()
					if ctx.Err() != nil {
						return // Stop was called
					}
					if st, ok := ev.Object.(*metav1.Status); ok && st.Code == http.StatusGone {
						// Too old to resume: list again (a state between the
						// two reads may be missed, and is reported as such).
						if rv, err = r.relist(ctx, c, ns); err != nil {
							r.fail(err)
							return
						}
						r.fail(fmt.Errorf("watch of BareMetalHosts in %s expired and was restarted: states in between may be missing", ns))
						continue
					}
					r.fail(fmt.Errorf("watch of BareMetalHosts in %s ended: %v", ns, ev.Object))
					return
				}
			}
			// The server closed the watch (timeout): resume where it ended.
		}
	}()
	return r, nil
}

func (r *Recorder) relist(ctx context.Context, c client.WithWatch, ns string) (string, error) {
	list := &bmov1alpha1.BareMetalHostList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return "", fmt.Errorf("listing BareMetalHosts in %s: %w", ns, err)
	}
	for i := range list.Items {
		r.observe(&list.Items[i])
	}
	return list.ResourceVersion, nil
}

func (r *Recorder) observe(h *bmov1alpha1.BareMetalHost) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first.IsZero() {
		r.first = time.Now()
	}
	s := h.Status.Provisioning.State
	seen := r.states[h.Name]
	if len(seen) == 0 || seen[len(seen)-1] != s {
		r.states[h.Name] = append(seen, s)
	}
	p, ok := h.Annotations[bmov1alpha1.PausedAnnotation]
	if !ok {
		p = NotPaused
	}
	if _, marked := h.Annotations[DeleteForMoveAnnotation]; marked {
		p += DeleteForMoveSuffix
	}
	ps := r.pauses[h.Name]
	if len(ps) == 0 || ps[len(ps)-1] != p {
		r.pauses[h.Name] = append(ps, p)
		if _, seen := r.paused[h.Name+"\x00"+p]; !seen {
			r.paused[h.Name+"\x00"+p] = time.Now()
		}
	}
	r.last[h.Name] = h.DeepCopy()
}

// NotPaused stands for "no pause annotation" in Pauses.
const NotPaused = "(not paused)"

// DeleteForMoveAnnotation is clusterctl's mark on a source object it is
// about to delete; its patch replaces the whole annotation map, pauses
// included. Pauses appends DeleteForMoveSuffix to a value seen with it, so
// a test can tell clusterctl's removal of a pause from anyone else's.
const (
	DeleteForMoveAnnotation = clusterctlv1.DeleteForMoveAnnotation
	DeleteForMoveSuffix     = " +delete-for-move"
)

// FirstSeen returns when the first host was seen (zero when none was): for
// a recorder started on an empty target, when the move created it.
func (r *Recorder) FirstSeen() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first
}

// FirstPaused returns when the first host was seen paused with value
// (zero when none was).
func (r *Recorder) FirstPaused(value string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first time.Time
	for k, t := range r.paused {
		if strings.HasSuffix(k, "\x00"+value) && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	return first
}

// Pauses returns, per host, every value of its pause annotation seen, in
// order (NotPaused when it had none, DeleteForMoveSuffix appended while
// clusterctl's delete mark was on it).
func (r *Recorder) Pauses() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]string, len(r.pauses))
	for k, v := range r.pauses {
		out[k] = slices.Clone(v)
	}
	return out
}

func (r *Recorder) fail(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

// Stop ends the watch; it returns the watch's error, if any.
func (r *Recorder) Stop() error {
	r.cancel()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// States returns, per host, the provisioning states seen so far in order
// ("" is a host with no status yet).
func (r *Recorder) States() map[string][]bmov1alpha1.ProvisioningState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]bmov1alpha1.ProvisioningState, len(r.states))
	for k, v := range r.states {
		out[k] = slices.Clone(v)
	}
	return out
}

// Last returns the latest copy of each host seen.
func (r *Recorder) Last() map[string]*bmov1alpha1.BareMetalHost {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]*bmov1alpha1.BareMetalHost, len(r.last))
	for k, v := range r.last {
		out[k] = v.DeepCopy()
	}
	return out
}

// Disturbed returns the hosts that, in the target, entered a provisioning
// state other than the one they had before the move: re-registered,
// re-inspected, re-provisioned. A host with no status yet ("", just copied
// or still paused) is not disturbed; a host missing from seen is not either.
// before maps host names to their state in the source before the move.
func Disturbed(before map[string]bmov1alpha1.ProvisioningState, seen map[string][]bmov1alpha1.ProvisioningState) []string {
	var out []string
	for name, want := range before {
		for _, s := range seen[name] {
			if s != "" && s != want {
				out = append(out, name)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// Settled reports whether every host of before was seen in the target and
// is back in its pre-move state, unpaused: nothing will happen to it any
// more without a new instruction. The second value lists those that are not.
func Settled(before map[string]bmov1alpha1.ProvisioningState, last map[string]*bmov1alpha1.BareMetalHost) (bool, string) {
	var pending []string
	for name, want := range before {
		h, ok := last[name]
		switch {
		case !ok:
			pending = append(pending, name+" (not in the target yet)")
		case h.Status.Provisioning.State != want:
			pending = append(pending, fmt.Sprintf("%s (%q, want %q)", name, h.Status.Provisioning.State, want))
		default:
			if v, paused := h.Annotations[bmov1alpha1.PausedAnnotation]; paused {
				pending = append(pending, fmt.Sprintf("%s (paused by %q)", name, v))
			}
		}
	}
	slices.Sort(pending)
	return len(pending) == 0, strings.Join(pending, ", ")
}

// Journeys renders each host's states as "name: a → b → c", sorted.
func Journeys(seen map[string][]bmov1alpha1.ProvisioningState) []string {
	var out []string
	for name, states := range seen {
		parts := make([]string, len(states))
		for i, s := range states {
			parts[i] = string(s)
			if s == "" {
				parts[i] = "(new)"
			}
		}
		out = append(out, name+": "+strings.Join(parts, " → "))
	}
	slices.Sort(out)
	return out
}
