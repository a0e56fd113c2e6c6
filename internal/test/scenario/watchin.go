package scenario

import (
	"context"
	"fmt"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

// WatchIn is Watch for a move into dst, either cluster of the pair: a move
// back watches the bootstrap. Its reports read dst's BMO and dst's Ironic
// (HostReport's "target" is dst); each host's baseline is its state now in
// the other cluster, else in dst.
func (p *IronicPair) WatchIn(ctx context.Context, ns string, dst *testenv.Cluster) (*HostWatch, error) {
	src := p.Bootstrap
	if dst == p.Bootstrap {
		src = p.Target
	}
	w := &HostWatch{
		ns: ns, emu: p.BMC, ironic: dst.Lab.IronicClient(),
		before: map[string]bmov1alpha1.ProvisioningState{}, roles: map[string]string{},
		errs: map[string][]string{},
	}
	for _, c := range []*testenv.Cluster{dst, src} {
		l := &bmov1alpha1.BareMetalHostList{}
		if err := c.Client.List(ctx, l, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("listing BareMetalHosts in %s of %s: %w", ns, c.Name, err)
		}
		for _, h := range l.Items {
			w.before[h.Name] = h.Status.Provisioning.State
			w.roles[h.Name] = role(&h)
		}
	}
	var err error
	if w.rec, err = Record(ctx, dst.Config, ns); err != nil {
		return nil, err
	}
	w.begin = time.Now()
	// The target Ironic's nodes of the namespace (while it is down there
	// is nothing to read).
	w.nodes = PollNodes(ctx, w.ironic, NodeName(ns, ""))
	return w, nil
}
