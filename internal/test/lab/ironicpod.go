package lab

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Where BMO's Ironic Deployment runs (BMO's ironic-deployment/base with
// the default name prefix) and the label its pods carry.
const (
	IronicNamespace  = "baremetal-operator-system"
	IronicDeployment = "baremetal-operator-ironic"
	IronicPodLabel   = "name"
	IronicPodValue   = "ironic"
)

// IronicMode runs a cluster's BMO without its test mode, against a real
// Ironic of the cluster's own that follows the cluster's Ironic Deployment:
// its pods run on a fake node (kwok), and the process they stand for runs
// here while one of them is Running.
type IronicMode struct {
	// BMC is the emulator of the hosts' BMCs, shared by the clusters.
	BMC *BMCEmulator
}

// IronicLifecycle is one start or stop of a lab cluster's Ironic process.
type IronicLifecycle struct {
	Time    time.Time
	Started bool
	// Err is why a start failed ("" when it did not).
	Err string
	// Pid is the process's id (its process group's too).
	Pid int
}

// ironicFollower runs a cluster's Ironic while its Deployment has a
// Running pod: a fresh database per start (the pod's emptyDir), the same
// API port and file server each time (BMO's endpoint and deploy image URLs
// stay valid).
type ironicFollower struct {
	name, url         string
	port              int
	bmc               *BMCEmulator
	dir               string // the runs' folders
	httpURL, httpRoot string
	http              *http.Server
	timeout           time.Duration
	c                 client.WithWatch

	mu      sync.Mutex
	ir      *Ironic
	events  []IronicLifecycle
	errs    []error
	running map[string]bool // pod name -> Running and not being deleted
	kick    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

func newIronicFollower(l *Lab, m *IronicMode, timeout time.Duration) (*ironicFollower, error) {
	if m.BMC == nil {
		return nil, errors.New("lab: Options.Ironic needs a BMC emulator")
	}
	port, err := stablePort()
	if err != nil {
		return nil, err
	}
	f := &ironicFollower{
		name: l.Name, port: port, url: "http://127.0.0.1:" + strconv.Itoa(port), bmc: m.BMC,
		dir: filepath.Join(l.Dir, "ironic"), httpRoot: filepath.Join(l.Dir, "ironic", "httpboot"),
		timeout: timeout, running: map[string]bool{}, kick: make(chan struct{}, 1),
	}
	if err := os.MkdirAll(f.httpRoot, 0o700); err != nil {
		return nil, fmt.Errorf("lab: Ironic %s: %w", l.Name, err)
	}
	if f.httpURL, f.http, err = serveFiles(f.httpRoot); err != nil {
		return nil, fmt.Errorf("lab: Ironic %s file server: %w", l.Name, err)
	}
	if f.c, err = client.NewWithWatch(l.cluster.Config, client.Options{}); err != nil {
		_ = f.http.Close()
		return nil, fmt.Errorf("lab: watch client for %s: %w", l.Name, err)
	}
	return f, nil
}

// run follows the pods until stop.
func (f *ironicFollower) run(ctx context.Context) {
	ctx, f.cancel = context.WithCancel(ctx)
	f.done = make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { f.watch(ctx) })
	wg.Go(func() { f.reconcile(ctx) })
	go func() { wg.Wait(); close(f.done) }()
}

// watch keeps f.running up to date: a list, then a watch from there, again
// whenever the watch ends.
func (f *ironicFollower) watch(ctx context.Context) {
	sel := client.MatchingLabels{IronicPodLabel: IronicPodValue}
	for ctx.Err() == nil {
		list := &corev1.PodList{}
		if err := f.c.List(ctx, list, client.InNamespace(IronicNamespace), sel); err != nil {
			f.wait(ctx, time.Second)
			continue
		}
		pods := map[string]bool{}
		for i := range list.Items {
			pods[list.Items[i].Name] = podRunning(&list.Items[i])
		}
		f.setPods(func(m map[string]bool) { clear(m); maps.Copy(m, pods) })
		w, err := f.c.Watch(ctx, &corev1.PodList{}, client.InNamespace(IronicNamespace), sel,
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
		if err != nil {
			f.wait(ctx, time.Second)
			continue
		}
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				break // an error event: list again
			}
			f.setPods(func(m map[string]bool) {
				if ev.Type == watch.Deleted {
					delete(m, pod.Name)
				} else {
					m[pod.Name] = podRunning(pod)
				}
			})
		}
		w.Stop()
	}
}

func podRunning(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil
}

func (f *ironicFollower) setPods(change func(map[string]bool)) {
	f.mu.Lock()
	change(f.running)
	f.mu.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

func (f *ironicFollower) wait(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// want decides from the pods seen: start on a Running pod, stop when no
// pod is left; in between (pods terminating or pending) keep things as
// they are.
func want(pods map[string]bool, runs bool) (start, stop bool) {
	anyRunning := false
	for _, r := range pods {
		anyRunning = anyRunning || r
	}
	return !runs && anyRunning, runs && len(pods) == 0
}

func (f *ironicFollower) reconcile(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			f.halt()
			return
		case <-f.kick:
		}
		f.mu.Lock()
		start, stop := want(f.running, f.ir != nil)
		f.mu.Unlock()
		switch {
		case start:
			ir, err := StartIronic(ctx, IronicOptions{
				Name: f.name, BMC: f.bmc, ReadyTimeout: f.timeout, Port: f.port,
				Dir: f.dir, HTTPURL: f.httpURL, HTTPRoot: f.httpRoot,
			})
			f.mu.Lock()
			if err != nil {
				if ctx.Err() == nil {
					f.errs = append(f.errs, fmt.Errorf("starting Ironic %s: %w", f.name, err))
					f.events = append(f.events, IronicLifecycle{Time: time.Now(), Err: err.Error()})
				}
			} else {
				f.ir = ir
				f.events = append(f.events, IronicLifecycle{Time: time.Now(), Started: true, Pid: ir.Pid()})
			}
			f.mu.Unlock()
		case stop:
			f.halt()
		}
	}
}

// halt stops the running Ironic, if any, and records it.
func (f *ironicFollower) halt() {
	f.mu.Lock()
	ir := f.ir
	f.mu.Unlock()
	if ir == nil {
		return
	}
	// A crash before the stop is a failure Check must still report.
	crashed := ir.Check()
	ir.halt()
	f.mu.Lock()
	f.ir = nil
	if crashed != nil {
		f.errs = append(f.errs, crashed)
	}
	f.events = append(f.events, IronicLifecycle{Time: time.Now(), Pid: ir.Pid()})
	f.mu.Unlock()
}

// stop ends the watch and the Ironic.
func (f *ironicFollower) stop() {
	if f == nil {
		return
	}
	if f.cancel != nil {
		f.cancel()
		<-f.done
	}
	_ = f.http.Close()
}

// check reports failed starts and a crashed Ironic.
func (f *ironicFollower) check() error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	errs := append([]error(nil), f.errs...)
	if err := f.ir.Check(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (f *ironicFollower) logs(lines int) string {
	if f == nil {
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ir.Logs(lines)
}

// IronicName is the name this cluster's Ironic carries in the BMC write
// record (BMCWrite.Ironic): the cluster's name.
func (l *Lab) IronicName() string { return l.Name }

// IronicURL is the API root of this cluster's Ironic (without /v1): the
// same across restarts; "" without Options.Ironic.
func (l *Lab) IronicURL() string {
	if l == nil || l.ironic == nil {
		return ""
	}
	return l.ironic.url
}

// IronicClient is an API client of this cluster's Ironic.
func (l *Lab) IronicClient() *IronicClient { return &IronicClient{URL: l.IronicURL()} }

// IronicRuns reports whether this cluster's Ironic process runs now.
func (l *Lab) IronicRuns() bool {
	if l == nil || l.ironic == nil {
		return false
	}
	l.ironic.mu.Lock()
	defer l.ironic.mu.Unlock()
	return l.ironic.ir != nil
}

// IronicEvents returns the starts and stops of this cluster's Ironic
// process, in order.
func (l *Lab) IronicEvents() []IronicLifecycle {
	if l == nil || l.ironic == nil {
		return nil
	}
	l.ironic.mu.Lock()
	defer l.ironic.mu.Unlock()
	return append([]IronicLifecycle(nil), l.ironic.events...)
}

// WaitIronic waits until this cluster's Ironic runs (or, with runs false,
// does not), failing after timeout or on a failed start.
func (l *Lab) WaitIronic(ctx context.Context, runs bool, timeout time.Duration) error {
	if l == nil || l.ironic == nil {
		return errors.New("lab: this cluster has no Ironic (Options.Ironic)")
	}
	deadline := time.Now().Add(timeout)
	for l.IronicRuns() != runs {
		if err := l.ironic.check(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lab: Ironic %s: runs=%t not reached within %s (starts and stops: %v)", l.Name, runs, timeout, l.IronicEvents())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// stablePort picks a free loopback port below the kernel's ephemeral range:
// the Ironic binds it each time it starts, long after it was picked, and a
// port of the ephemeral range may by then be the local end of any
// connection on this machine.
func stablePort() (int, error) {
	low := 32768
	if raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(raw)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 20000 {
				low = n
			}
		}
	}
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		port := 15000 + rand.IntN(low-15000)
		if ports[port] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		ln.Close()
		ports[port] = true
		return port, nil
	}
	return 0, errors.New("finding a free port below the ephemeral range: none of 100 tried was free")
}
