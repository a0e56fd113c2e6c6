// Phase host-handover: every host annotated with its status and paused.

package move

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
)

// planHosts decides each host's hand-over patch from the live source.
func (d *driver) planHosts(ctx context.Context) (actions []HostAction, ttag string, warnings []string, err error) {
	// The three reads at once; the decisions wait for all of them.
	var targetBMO, sourceBMO *version.Version
	var stag string
	hosts := &bmov1alpha1.BareMetalHostList{}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		if _, targetBMO, ttag, err = bmoDeployment(gctx, d.dst); err != nil {
			return fmt.Errorf("target: %w", err)
		}
		return nil
	})
	g.Go(func() (err error) {
		if _, sourceBMO, stag, err = bmoDeployment(gctx, d.src); err != nil {
			return fmt.Errorf("source: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := d.src.List(gctx, hosts, client.InNamespace(d.opts.Namespace)); err != nil {
			return fmt.Errorf("listing BareMetalHosts in %s: %w", d.opts.Namespace, err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, "", nil, err
	}
	if targetBMO != nil && sourceBMO != nil && targetBMO.LessThan(sourceBMO) {
		return nil, "", nil, fmt.Errorf("target BMO %s is older than source BMO %s: its webhook may reject the status annotations (the target BMO must be at least the source's)", ttag, stag)
	}
	d.srcHosts = hosts.Items
	actions, warnings, err = PlanHostHandover(hosts.Items, targetBMO)
	if err != nil {
		return nil, "", nil, err
	}
	return actions, ttag, warnings, nil
}

// patchHosts sends every planned hand-over patch (8 in flight), as a
// server-side dry run when dryRun is set. A dry run reports every host
// refused, not only the first; real writes are retried (retryWrite) and
// the first failure is returned.
func (d *driver) patchHosts(ctx context.Context, actions []HostAction, dryRun bool) (int, error) {
	var todo []HostAction
	for _, a := range actions {
		if a.Patch != nil {
			todo = append(todo, a)
		}
	}
	var mu sync.Mutex
	var refused []string
	err := parallel(ctx, len(todo), func(ctx context.Context, i int) error {
		a := todo[i]
		if dryRun {
			if err := d.sendHandover(ctx, a, client.DryRunAll); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				mu.Lock()
				refused = append(refused, fmt.Sprintf("BareMetalHost %s/%s: %v", d.opts.Namespace, a.Name, err))
				mu.Unlock()
			}
			return nil
		}
		if err := d.sendHandover(ctx, a); err != nil {
			return fmt.Errorf("writing the status annotation and pause on BareMetalHost %s/%s: %w", d.opts.Namespace, a.Name, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if len(refused) > 0 {
		slices.Sort(refused)
		return 0, fmt.Errorf("the source API server refused %d host hand-over patch(es) in a server-side dry run, so nothing was changed%s", len(refused), listSuffix(refused))
	}
	return len(todo), nil
}

// sendHandover sends one host's hand-over patch with the resourceVersion
// its decision was made on (retried, see retryWrite). On a conflict the
// host changed since: it is read again and decided again (ReplanHost), and
// the next attempt carries the fresh status and resourceVersion, or the
// host is refused with its new state. A stale status never lands.
func (d *driver) sendHandover(ctx context.Context, a HostAction, opts ...client.PatchOption) error {
	key := client.ObjectKey{Namespace: d.opts.Namespace, Name: a.Name}
	meta, _ := a.Patch["metadata"].(map[string]any)
	annotations, rv := meta["annotations"], a.ResourceVersion
	done := false
	return retryWrite(ctx, func() error {
		if done {
			return nil
		}
		body := map[string]any{"annotations": annotations}
		if rv != "" {
			body["resourceVersion"] = rv
		}
		raw, err := json.Marshal(map[string]any{"metadata": body})
		if err != nil {
			return fmt.Errorf("encoding the hand-over patch of BareMetalHost %s: %w", key, err)
		}
		h := &bmov1alpha1.BareMetalHost{}
		h.Namespace, h.Name = key.Namespace, key.Name
		err = d.src.Patch(ctx, h, client.RawPatch(types.MergePatchType, raw), opts...)
		if !apierrors.IsConflict(err) || rv == "" {
			return err
		}
		fresh := &bmov1alpha1.BareMetalHost{}
		if gerr := d.src.Get(ctx, key, fresh); gerr != nil {
			return fmt.Errorf("re-reading BareMetalHost %s after a conflict: %w", key, gerr)
		}
		next, perr := ReplanHost(fresh, a.targetBMO)
		switch {
		case perr != nil:
			return perr // a decision, not retried
		case next == nil:
			done = true
			return nil
		}
		d.log.V(1).Info("host changed since its hand-over was decided: deciding again on its current state", "host", key.String(), "resourceVersion", fresh.ResourceVersion)
		nm, _ := next.Patch["metadata"].(map[string]any)
		annotations, rv = nm["annotations"], fresh.ResourceVersion
		return err // the conflict: retried with the fresh patch
	})
}

// hostHandover writes, on every host, the patch the checks proved
// acceptable (re-planned from the live hosts: a host handed over by an
// earlier attempt is skipped).
func (d *driver) hostHandover(ctx context.Context) (string, error) {
	if err := d.ensureRecorded(); err != nil {
		return "", err
	}
	actions, ttag, _, err := d.planHosts(ctx)
	if err != nil {
		return "", err
	}
	if RecordHostHandover(&d.state, d.srcHosts, actions) {
		if err := d.writeState(); err != nil {
			return "", err
		}
	}
	patched, err := d.patchHosts(ctx, actions, false)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d host(s) annotated and paused, %d already handed over or left alone (target BMO %s)", patched, len(actions)-patched, orUnknown(ttag)), nil
}

// RecordHostHandover adds to st what each planned patch adds to its host
// (pure), and reports whether st changed. A host an earlier attempt
// recorded keeps what it had before that attempt.
func RecordHostHandover(st *State, hosts []bmov1alpha1.BareMetalHost, actions []HostAction) bool {
	byName := map[string]*bmov1alpha1.BareMetalHost{}
	for i := range hosts {
		byName[hosts[i].Name] = &hosts[i]
	}
	changed := false
	for _, a := range actions {
		if a.Patch == nil {
			continue
		}
		want, _ := a.Patch["metadata"].(map[string]any)["annotations"].(map[string]any)
		i := slices.IndexFunc(st.Hosts, func(r HostRecord) bool { return r.Name == a.Name })
		if i < 0 {
			st.Hosts = append(st.Hosts, HostRecord{Name: a.Name})
			i = len(st.Hosts) - 1
		}
		r := st.Hosts[i]
		if _, ok := want[bmov1alpha1.PausedAnnotation]; ok {
			r.AddedPause = true
		}
		if v, ok := want[bmov1alpha1.StatusAnnotation].(string); ok {
			if r.StatusSHA256 == "" {
				if h := byName[a.Name]; h != nil {
					if old, had := h.Annotations[bmov1alpha1.StatusAnnotation]; had {
						r.StatusBefore = &old
					}
				}
			}
			r.StatusSHA256 = sha256Hex(v)
		}
		if r != st.Hosts[i] || !equalPtr(r.StatusBefore, st.Hosts[i].StatusBefore) {
			changed = true
		}
		st.Hosts[i] = r
	}
	return changed
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func equalPtr(a, b *string) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// bmoDeployment finds BMO's controller Deployment in any namespace (nil
// when absent) and the version its image tag names (nil when it names none).
func bmoDeployment(ctx context.Context, c client.Client) (*appsv1.Deployment, *version.Version, string, error) {
	deps := &appsv1.DeploymentList{}
	if err := c.List(ctx, deps); err != nil {
		return nil, nil, "", fmt.Errorf("listing Deployments to find the baremetal-operator: %w", err)
	}
	d, tag := bmo.Find(deps.Items)
	if d == nil {
		return nil, nil, "", nil
	}
	return d, bmo.ParseVersion(tag), tag, nil
}
