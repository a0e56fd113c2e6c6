package lab

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Options say which controllers run against one cluster.
type Options struct {
	// Kubernetes runs kube-controller-manager, kube-scheduler and kwok with
	// Nodes fake nodes (at least one): Deployments get real ReplicaSets and
	// pods that reach Running, real Available conditions, and the garbage
	// collector removes what a deleted owner leaves.
	Kubernetes bool
	Nodes      int
	// BMO runs the baremetal-operator with its validating webhook
	// served: in test mode, or with Ironic against a real Ironic.
	BMO bool
	// Ironic, when set, runs BMO without its test mode against this
	// cluster's own real Ironic, which follows the cluster's Ironic
	// Deployment (see IronicMode).
	Ironic *IronicMode
	// CAPM3 runs the CAPM3 and IPAM managers with their webhooks served,
	// and the CAPIStandIn for the Cluster API controllers the lab lacks.
	CAPM3 bool
	// ReadyTimeout bounds the start of every process (default 90 s).
	ReadyTimeout time.Duration
	// Network is the cluster's address plan; its API server must have been
	// started with Network.APIServerFlags. Zero: Start picks one (Services
	// then keep the API server's own range).
	Network Network
}

// Network is a lab cluster's address plan, all on loopback so that a process
// on this machine can serve what a pod or a Service would: the Service
// range the API server allocates ClusterIPs from (a /20), and the range
// kwok gives pod IPs from (a /24). Each lab of a process gets its own.
type Network struct {
	ServiceCIDR, PodCIDR string
}

var (
	netMu    sync.Mutex
	netTaken = map[int]bool{}
)

// NewNetwork picks a fresh plan: 127.N.0.0/20 for Services and
// 127.N.100.0/24 for pods, N random (labs of test packages running in
// parallel are separate processes) and unused in this process.
func NewNetwork() Network {
	netMu.Lock()
	defer netMu.Unlock()
	n := 1 + rand.IntN(250)
	for netTaken[n] {
		n = 1 + rand.IntN(250)
	}
	netTaken[n] = true
	return Network{ServiceCIDR: fmt.Sprintf("127.%d.0.0/20", n), PodCIDR: fmt.Sprintf("127.%d.100.1/24", n)}
}

// APIServerFlags are the kube-apiserver flags the plan needs.
func (n Network) APIServerFlags() map[string]string {
	return map[string]string{"service-cluster-ip-range": n.ServiceCIDR}
}

// Any reports whether o asks for any controller.
func (o Options) Any() bool { return o.Kubernetes || o.BMO || o.CAPM3 || o.Ironic != nil }

// Cluster is what the lab needs of a running API server.
type Cluster struct {
	Name       string // "bootstrap", "target": names processes and nodes
	Kubeconfig string // an admin kubeconfig file
	Config     *rest.Config
	Client     client.Client
}

// NodeAnnotation marks the nodes kwok manages.
const NodeAnnotation = "kwok.x-k8s.io/node"

// Lab is the set of controllers running against one cluster.
type Lab struct {
	Name string
	// Dir holds every process's folder, certificates and log file.
	Dir string
	// Network is the address plan: pod IPs and ClusterIPs on loopback.
	Network Network
	// NodeIP is every fake node's address (hostNetwork pods get it).
	NodeIP string
	// CA signs the webhook servers' certificates.
	CA *CA
	// Nodes are the fake nodes' names.
	Nodes []string

	cluster Cluster
	procs   []*process
	capi    *CAPIStandIn
	ironic  *ironicFollower
	keep    bool
	stopped bool
	mu      sync.Mutex
}

// Start starts the controllers o asks for, in parallel, and returns once
// each one is ready (health endpoint answering, webhooks registered, fake
// nodes Ready). On failure everything started is stopped and the error
// names the binary and its log file.
func Start(ctx context.Context, c Cluster, o Options) (l *Lab, err error) {
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 90 * time.Second
	}
	if o.Kubernetes && o.Nodes < 1 {
		o.Nodes = 1
	}
	var need []string
	if o.Kubernetes {
		need = append(need, ControllerManager, Scheduler, Kwok)
	}
	if o.BMO {
		need = append(need, BMO)
	}
	if o.CAPM3 {
		need = append(need, CAPM3, IPAM)
	}
	bins, err := FindBinaries(need...)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pivotcheck-lab-"+c.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("lab folder: %w", err)
	}
	ca, err := NewCA("pivotcheck lab " + c.Name)
	if err != nil {
		return nil, err
	}
	if o.Network.PodCIDR == "" {
		o.Network = NewNetwork()
	}
	l = &Lab{Name: c.Name, Dir: dir, CA: ca, cluster: c, Network: o.Network, NodeIP: "127.0.0.1"}
	defer func() {
		if err != nil {
			l.keep = true
			_ = l.Stop()
		}
	}()

	type starter struct {
		p     *process
		ready func(context.Context) error
		hooks func(context.Context) error // webhook registration once ready
	}
	var all []starter
	add := func(s starter) { all = append(all, s); l.procs = append(l.procs, s.p) }

	if o.Kubernetes {
		for _, name := range []string{ControllerManager, Scheduler} {
			port, err := freePort()
			if err != nil {
				return l, err
			}
			args := []string{
				"--kubeconfig=" + c.Kubeconfig, "--leader-elect=false",
				"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
				"--cert-dir=" + filepath.Join(dir, name, "certs"), "--v=2",
			}
			if name == ControllerManager {
				args = append(args,
					"--controllers=garbage-collector-controller,deployment-controller,replicaset-controller,daemonset-controller,namespace-controller,endpoints-controller,endpointslice-controller,node-lifecycle-controller",
					"--use-service-account-credentials=false",
					// The node lifecycle controller lifts the not-ready taint the
					// API server puts on new nodes once kwok reports them Ready.
				)
			}
			add(starter{p: l.newProcess(bins, name, args, nil), ready: httpsReady(port)})
		}
		args := []string{
			"--kubeconfig=" + c.Kubeconfig, "--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector=" + NodeAnnotation + "=fake",
			"--cidr=" + l.Network.PodCIDR, "--node-ip=" + l.NodeIP, "--node-lease-duration-seconds=40",
		}
		add(starter{p: l.newProcess(bins, Kwok, args, nil), ready: func(context.Context) error { return nil }})
	}
	if o.Ironic != nil {
		if l.ironic, err = newIronicFollower(l, o.Ironic, o.ReadyTimeout); err != nil {
			return l, err
		}
	}
	if o.BMO {
		p, hooks, ready, err := l.metal3(ctx, bins, BMO, func(webhookPort, healthPort int, certDir string) []string {
			args := []string{
				"--kubeconfig=" + c.Kubeconfig,
				"--webhook-port=" + strconv.Itoa(webhookPort), "--metrics-addr=0",
				"--health-addr=127.0.0.1:" + strconv.Itoa(healthPort),
			}
			if o.Ironic == nil {
				args = append(args, "--test-mode")
			}
			return args
		})
		if err != nil {
			return l, err
		}
		if l.ironic != nil {
			if p.env, err = bmoIronicEnv(p.dir, l.ironic.url, l.ironic.httpURL, l.ironic.httpRoot); err != nil {
				return l, err
			}
		}
		add(starter{p: p, ready: ready, hooks: hooks})
	}
	if o.CAPM3 {
		for _, name := range []string{CAPM3, IPAM} {
			p, hooks, ready, err := l.metal3(ctx, bins, name, func(webhookPort, healthPort int, certDir string) []string {
				return []string{
					"--kubeconfig=" + c.Kubeconfig,
					"--webhook-port=" + strconv.Itoa(webhookPort), "--webhook-cert-dir=" + certDir,
					"--health-addr=127.0.0.1:" + strconv.Itoa(healthPort), "--diagnostics-address=0", "--v=2",
				}
			})
			if err != nil {
				return l, err
			}
			add(starter{p: p, ready: ready, hooks: hooks})
		}
	}

	for _, s := range all {
		if err := s.p.start(); err != nil {
			return l, err
		}
	}
	errs := make([]error, len(all))
	var wg sync.WaitGroup
	for i, s := range all {
		wg.Go(func() {
			if err := s.p.waitReady(ctx, o.ReadyTimeout, s.ready); err != nil {
				errs[i] = err
				return
			}
			if s.hooks != nil {
				if err := s.hooks(ctx); err != nil {
					errs[i] = s.p.failure("webhook registration failed", err)
				}
			}
		})
	}
	var nodeErr error
	if o.Kubernetes {
		wg.Go(func() {
			nodeErr = l.nodes(ctx, o.Nodes, o.ReadyTimeout)
		})
	}
	wg.Wait()
	if err := errors.Join(append(errs, nodeErr)...); err != nil {
		return l, err
	}
	if o.CAPM3 {
		if l.capi, err = StartCAPIStandIn(context.WithoutCancel(ctx), c.Config, c.Client.Scheme()); err != nil {
			return l, err
		}
	}
	if l.ironic != nil {
		l.ironic.run(context.WithoutCancel(ctx))
	}
	return l, nil
}

func (l *Lab) newProcess(bins Binaries, name string, args, env []string) *process {
	full := l.Name + "/" + name
	return &process{
		name: full, bin: bins[name], args: args, env: env,
		dir: filepath.Join(l.Dir, name), logPath: filepath.Join(l.Dir, logName(full)),
	}
}

// metal3 prepares a Metal3 controller: ports, a serving certificate for
// 127.0.0.1 in the folder its webhook server reads, its readiness check,
// and the registration of its upstream webhook configuration pointing at it.
func (l *Lab) metal3(ctx context.Context, bins Binaries, name string, args func(webhookPort, healthPort int, certDir string) []string) (*process, func(context.Context) error, func(context.Context) error, error) {
	webhookPort, err := freePort()
	if err != nil {
		return nil, nil, nil, err
	}
	healthPort, err := freePort()
	if err != nil {
		return nil, nil, nil, err
	}
	p := l.newProcess(bins, name, nil, nil)
	// controller-runtime's default certificate folder is under TMPDIR, which
	// the process gets as its own folder; BMO has no flag to change it.
	certDir := filepath.Join(p.dir, "k8s-webhook-server", "serving-certs")
	p.args = args(webhookPort, healthPort, certDir)
	serving, err := l.CA.Issue([]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, nil, nil, err
	}
	if err := serving.WriteDir(certDir, l.CA); err != nil {
		return nil, nil, nil, err
	}
	cfgs, err := upstreamWebhooks(ctx, name)
	if err != nil {
		return nil, nil, nil, err
	}
	cfgs.PointAt("127.0.0.1:"+strconv.Itoa(webhookPort), l.CA.CertPEM)
	hooks := func(ctx context.Context) error { return cfgs.Install(ctx, l.cluster.Client) }
	ready := func(ctx context.Context) error {
		if err := httpReady("http://127.0.0.1:" + strconv.Itoa(healthPort) + "/readyz")(ctx); err != nil {
			return err
		}
		// The health endpoint can answer before the webhook server listens.
		conn, err := (&tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}}).DialContext(ctx, "tcp", "127.0.0.1:"+strconv.Itoa(webhookPort)) //nolint:gosec // loopback readiness probe
		if err != nil {
			return fmt.Errorf("webhook server: %w", err)
		}
		return conn.Close()
	}
	return p, hooks, ready, nil
}

// nodes creates the fake nodes and waits until kwok reports them Ready.
func (l *Lab) nodes(ctx context.Context, n int, timeout time.Duration) error {
	c := l.cluster.Client
	for i := range n {
		name := fmt.Sprintf("%s-node-%d", l.Name, i)
		l.Nodes = append(l.Nodes, name)
		capacity := corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("256Gi"),
			corev1.ResourcePods: resource.MustParse("110"),
		}
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Annotations: map[string]string{NodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
				Labels: map[string]string{
					"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
					"node-role.kubernetes.io/control-plane": "", "type": "kwok",
				},
			},
			Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
		}
		if err := c.Create(ctx, node); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("lab: creating fake node %s: %w", name, err)
		}
	}
	var notReady []string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		notReady = nil
		for _, name := range l.Nodes {
			node := &corev1.Node{}
			if err := c.Get(ctx, client.ObjectKey{Name: name}, node); err != nil {
				return false, fmt.Errorf("lab: reading fake node %s: %w", name, err)
			}
			if !nodeReady(node) {
				notReady = append(notReady, name)
			}
		}
		return len(notReady) == 0, nil
	})
	if wait.Interrupted(err) && ctx.Err() == nil {
		return fmt.Errorf("lab: fake node(s) %s not Ready within %s: kwok did not take them (log: %s)", strings.Join(notReady, ", "), timeout, filepath.Join(l.Dir, logName(l.Name+"/"+Kwok)))
	}
	return err
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Check returns an error naming every process that has stopped, with its
// log: a lab test calls it when a wait times out, so a crashed controller is
// reported as such and not as a slow one.
func (l *Lab) Check() error {
	if l == nil {
		return nil
	}
	var errs []error
	l.mu.Lock()
	procs := append([]*process(nil), l.procs...)
	l.mu.Unlock()
	for _, p := range procs {
		if err := p.exited(); err != nil {
			errs = append(errs, p.failure("has stopped", err))
		}
	}
	if err := l.capi.Err(); err != nil {
		errs = append(errs, fmt.Errorf("lab: %s CAPI stand-in: %w", l.Name, err))
	}
	if err := l.ironic.check(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Keep keeps the log folder after Stop (a test failed).
func (l *Lab) Keep() {
	if l != nil {
		l.mu.Lock()
		l.keep = true
		l.mu.Unlock()
	}
}

// Logs returns the last lines of every process's log, for a failed test.
func (l *Lab) Logs(lines int) string {
	if l == nil {
		return ""
	}
	var b strings.Builder
	l.mu.Lock()
	procs := append([]*process(nil), l.procs...)
	l.mu.Unlock()
	slices.SortFunc(procs, func(a, b *process) int { return cmp.Compare(a.name, b.name) })
	for _, p := range procs {
		fmt.Fprintf(&b, "--- %s (%s), last %d lines:\n%s\n", p.name, p.logPath, lines, indent(tail(p.logPath, lines)))
	}
	b.WriteString(l.ironic.logs(lines))
	return b.String()
}

// Stop stops every process (SIGTERM, then SIGKILL after 5 s) and removes the
// lab folder unless Keep was called.
func (l *Lab) Stop() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return nil
	}
	l.stopped = true
	l.mu.Unlock()
	l.ironic.stop()
	l.capi.Stop()
	l.mu.Lock()
	procs := append([]*process(nil), l.procs...)
	l.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(func() { p.stop(5 * time.Second) })
	}
	wg.Wait()
	l.mu.Lock()
	keep := l.keep
	l.mu.Unlock()
	if keep {
		fmt.Fprintf(os.Stderr, "lab: logs of %s kept in %s\n", l.Name, l.Dir)
		return nil
	}
	if err := os.RemoveAll(l.Dir); err != nil {
		return fmt.Errorf("removing lab folder %s: %w", l.Dir, err)
	}
	return nil
}

var (
	portsMu sync.Mutex
	ports   = map[int]bool{}
)

// freePort asks the kernel for a free loopback port that this process has
// not handed out before: labs start concurrently, and a port is only bound
// by the controller a moment later.
func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("finding a free port: %w", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !ports[port] {
			ports[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("finding a free port: every port offered was already handed out")
}

var probeClient = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // loopback health probes of self-signed servers
}

func httpReady(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := probeClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %s", url, resp.Status)
		}
		return nil
	}
}

func httpsReady(port int) func(context.Context) error {
	return httpReady("https://127.0.0.1:" + strconv.Itoa(port) + "/healthz")
}

// Run starts another program against the lab's cluster, in its own folder
// with its log beside the controllers' (and in Logs), and waits until ready
// passes. stop ends it (SIGTERM, then SIGKILL); Stop ends it too. A test
// uses it to run what a Deployment's pod on a fake node stands for, such as
// the pivotcheck webhook.
func (l *Lab) Run(ctx context.Context, name, bin string, args []string, timeout time.Duration, ready func(context.Context) error) (stop func(), err error) {
	full := l.Name + "/" + name
	p := &process{name: full, bin: bin, args: args, dir: filepath.Join(l.Dir, name), logPath: filepath.Join(l.Dir, logName(full))}
	l.mu.Lock()
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	if err := p.start(); err != nil {
		return nil, err
	}
	if err := p.waitReady(ctx, timeout, ready); err != nil {
		p.stop(5 * time.Second)
		return nil, err
	}
	return func() { p.stop(5 * time.Second) }, nil
}

// HTTPReady is a readiness check: GET url answers 200 (TLS not verified:
// loopback servers with self-signed certificates).
func HTTPReady(url string) func(context.Context) error { return httpReady(url) }
