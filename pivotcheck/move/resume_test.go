package move

import (
	"context"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/internal/test/upstream"
)

// faultProxy is a loopback TCP proxy in front of an API server. Fail cuts
// every open connection and refuses new ones (the API server "goes away"
// mid-move); Heal lets connections through again. TLS passes through
// untouched, so the envtest certificates keep working (they name 127.0.0.1).
type faultProxy struct {
	ln      net.Listener
	backend string
	mu      sync.Mutex
	conns   map[net.Conn]bool
	failing bool
}

func newFaultProxy(t *testing.T, backend string) *faultProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &faultProxy{ln: ln, backend: backend, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { _ = ln.Close() })
	return p
}

func (p *faultProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.failing {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		b, err := net.Dial("tcp", p.backend)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns[c], p.conns[b] = true, true
		p.mu.Unlock()
		go func() { _, _ = io.Copy(b, c); _ = b.Close() }()
		go func() { _, _ = io.Copy(c, b); _ = c.Close() }()
	}
}

func (p *faultProxy) Fail() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failing = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *faultProxy) Heal() {
	p.mu.Lock()
	p.failing = false
	p.mu.Unlock()
}

// proxiedTarget writes a kubeconfig for the target that goes through a new faultProxy.
func proxiedTarget(t *testing.T) (kube.Cluster, *faultProxy) {
	kc, err := clientcmd.LoadFromFile(pair.Target.Kubeconfig)
	require.NoError(t, err)
	ctx := kc.Contexts[pair.Target.Context]
	cl := kc.Clusters[ctx.Cluster]
	su, err := url.Parse(cl.Server)
	require.NoError(t, err)
	u := su.Host
	p := newFaultProxy(t, u)
	cl.Server = "https://" + p.ln.Addr().String()
	path := filepath.Join(t.TempDir(), "proxied.kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*kc, path))
	return kube.Cluster{Kubeconfig: path, Context: pair.Target.Context}, p
}

// failThenResume builds 10 machines, breaks the move in its create phase
// with inject, checks nothing is lost, then resumes and checks everything
// moved exactly once.
func failThenResume(t *testing.T, ns string, inject func(t *testing.T, opts *Options, cancel context.CancelFunc) (heal func())) {
	bg, stop := context.WithCancel(context.Background())
	defer stop()
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	res, err := fixture.Build(bg, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 3, Workers: 7, SpareHosts: 1})
	require.NoError(t, err)
	before := hostStatuses(t, pair.Bootstrap.Client, ns)
	bmoStandIn(bg, t, pair.Bootstrap.Client, ns)
	bmoStandIn(bg, t, pair.Target.Client, ns)

	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	// A run cut off from the target cannot release its Lease there: it
	// lapses after this, and the resume takes it over, as an operator would.
	opts.LeaseDuration = 3 * time.Second
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	heal := inject(t, &opts, cancel)
	start := time.Now()
	rep, err := Run(ctx, opts)
	t.Logf("failed run took %s", time.Since(start))
	var pe *PhaseError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, PhaseMove, pe.Phase, "error: %v", err)
	require.Equal(t, PhaseMove, rep.FailedPhase)
	require.Equal(t, "pivotcheck move --resume", rep.ResumeCommand)
	require.NotEmpty(t, rep.SourceState)
	t.Logf("source: %s", rep.SourceState)
	t.Logf("target: %s", rep.TargetState)

	// Nothing lost: every source object is still there, hosts still carry
	// their status annotation under pivotcheck's pause; the target holds a
	// partial, paused copy.
	inSrc := present(t, pair.Bootstrap.Client, res.Objects)
	for _, r := range res.Objects {
		require.True(t, inSrc[r], "%s lost from the source", r)
	}
	hosts := &bmov1alpha1.BareMetalHostList{}
	require.NoError(t, pair.Bootstrap.Client.List(bg, hosts, client.InNamespace(ns)))
	for _, h := range hosts.Items {
		require.NotEmpty(t, h.Annotations[bmov1alpha1.StatusAnnotation], h.Name)
		require.Equal(t, hostsafety.PivotcheckPauseValue, h.Annotations[bmov1alpha1.PausedAnnotation], h.Name)
	}
	inDst := present(t, pair.Target.Client, res.Objects)
	n := 0
	for _, ok := range inDst {
		if ok {
			n++
		}
	}
	t.Logf("target holds %d of %d objects after the failure", n, len(res.Objects))
	require.Greater(t, n, 0)
	require.Less(t, n, len(res.Objects))
	cl := &clusterv1.Cluster{}
	require.NoError(t, pair.Target.Client.Get(bg, client.ObjectKey{Namespace: ns, Name: "test1"}, cl))
	require.True(t, ptr.Deref(cl.Spec.Paused, false), "target copy must stay paused")

	// Resume after the fault is gone.
	heal()
	opts.Resume, opts.TakeOverLock = true, true
	opts.OnEvent = nil
	time.Sleep(opts.LeaseDuration + time.Second)
	// The source Clusters clusterctl paused stay paused until the move
	// phase itself (not unpaused in the backup, minutes before clusterctl).
	pausedAt := map[string]bool{}
	opts.OnPhase = func(p string) {
		if p == PhaseIronic || p == PhaseMove {
			sc := &clusterv1.Cluster{}
			require.NoError(t, pair.Bootstrap.Client.Get(bg, client.ObjectKey{Namespace: ns, Name: "test1"}, sc))
			pausedAt[p] = ptr.Deref(sc.Spec.Paused, false)
		}
	}
	rep, err = Run(bg, opts)
	require.NoError(t, err, "resume report: %+v", rep)
	require.Equal(t, map[string]bool{PhaseIronic: true, PhaseMove: true}, pausedAt, "source Cluster paused at the start of these phases")
	require.Equal(t, statusOK, rep.Phase(PhasePreflight).Status, "the resume runs the preflight again")
	require.True(t, rep.Verified)
	require.Equal(t, toObjects(res.Objects), rep.Objects)
	requireMoved(t, res, pair.Bootstrap, pair.Target)
	requireHostsRestored(t, pair.Target.Client, ns, before)
}

// TestFailureMidCreateThenResume: the target API server goes away in the
// middle of the create phase (a proxy cuts and refuses connections).
// clusterctl retries each failing write for ≈ 2 minutes; the test ends that
// wait after 3 s by cancelling the run, as an operator would. Once with
// each Cluster API release's CRDs.
func TestFailureMidCreateThenResume(t *testing.T) {
	needEnv(t)
	testenv.ForEachClusterAPI(t, &pair, func(t *testing.T, _ upstream.Module) { failureMidCreateThenResume(t) })
}

func failureMidCreateThenResume(t *testing.T) {
	failThenResume(t, "fail", func(t *testing.T, opts *Options, cancel context.CancelFunc) func() {
		tgt, proxy := proxiedTarget(t)
		opts.Target = tgt
		var created atomic.Int32
		opts.OnEvent = func(e mover.Event) {
			if e.Action == mover.Creating && created.Add(1) == 40 {
				proxy.Fail()
				time.AfterFunc(3*time.Second, cancel)
			}
		}
		return proxy.Heal
	})
}

// TestInterruptMidCreateThenResume: Ctrl-C (the command cancels the
// context on SIGINT) during the create phase stops between objects with the
// same guarantees.
func TestInterruptMidCreateThenResume(t *testing.T) {
	needEnv(t)
	failThenResume(t, "interrupt", func(t *testing.T, opts *Options, cancel context.CancelFunc) func() {
		var created atomic.Int32
		opts.OnEvent = func(e mover.Event) {
			if e.Action == mover.Creating && created.Add(1) == 60 {
				cancel()
			}
		}
		return func() {}
	})
}

// TestInterruptMidDeleteThenResume: stopped in clusterctl's delete phase,
// part of the source is gone, but every object exists on one side or the
// other (nothing lost), the target copy stays paused, and --resume finishes.
func TestInterruptMidDeleteThenResume(t *testing.T) {
	needEnv(t)
	bg := context.Background()
	const ns = "interrupt-delete"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	res, err := fixture.Build(bg, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, Workers: 4})
	require.NoError(t, err)
	before := hostStatuses(t, pair.Bootstrap.Client, ns)
	sctx, stop := context.WithCancel(bg)
	defer stop()
	bmoStandIn(sctx, t, pair.Target.Client, ns)

	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	var deleted atomic.Int32
	opts.OnEvent = func(e mover.Event) {
		if e.Action == mover.Deleting && deleted.Add(1) == 20 {
			cancel()
		}
	}
	rep, err := Run(ctx, opts)
	var pe *PhaseError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, PhaseMove, pe.Phase, "error: %v", err)
	t.Logf("source: %s", rep.SourceState)
	t.Logf("target: %s", rep.TargetState)
	inSrc, inDst := present(t, pair.Bootstrap.Client, res.Objects), present(t, pair.Target.Client, res.Objects)
	gone := 0
	for _, r := range res.Objects {
		require.True(t, inSrc[r] || inDst[r], "%s lost on both sides", r)
		require.True(t, inDst[r], "%s must already be in the target", r)
		if !inSrc[r] {
			gone++
		}
	}
	require.Greater(t, gone, 0)
	cl := &clusterv1.Cluster{}
	require.NoError(t, pair.Target.Client.Get(bg, client.ObjectKey{Namespace: ns, Name: "test1"}, cl))
	require.True(t, ptr.Deref(cl.Spec.Paused, false), "target copy must stay paused")

	opts.Resume, opts.OnEvent = true, nil
	rep, err = Run(bg, opts)
	require.NoError(t, err, "resume report: %+v", rep)
	require.True(t, rep.Verified)
	require.Equal(t, toObjects(res.Objects), rep.Objects)
	requireMoved(t, res, pair.Bootstrap, pair.Target)
	requireHostsRestored(t, pair.Target.Client, ns, before)
}
