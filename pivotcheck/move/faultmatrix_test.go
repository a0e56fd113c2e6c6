package move

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/movelock"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

// origHome is HOME before the test main replaced it with a private one:
// `go build` of the pivotcheck binary uses the developer's build cache.
var origHome = os.Getenv("HOME")

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// matrixWriteBackoffFirst is the first step of pivotcheck's write retries
// in the binary the matrix runs (linked into writeBackoffFirst): the same
// 8 attempts as in a release, over about 6 s instead of about 30 s, so
// an api-error row waits out the retries without waiting 30 s per row.
const matrixWriteBackoffFirst = "50ms"

// pivotcheckBinary builds cmd/pivotcheck once per test process, with
// matrixWriteBackoffFirst.
func pivotcheckBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pivotcheck-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "pivotcheck")
		cmd := exec.Command("go", "build", "-o", binPath,
			"-ldflags", "-X github.com/pivotcheck/pivotcheck/pivotcheck/move.writeBackoffFirst="+matrixWriteBackoffFirst,
			"github.com/pivotcheck/pivotcheck/cmd/pivotcheck")
		cmd.Env = append(os.Environ(), "HOME="+origHome)
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/pivotcheck: %w\n%s", err, out)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

// Fault kinds of the matrix.
const (
	faultAPIError = "api-error"
	faultKill     = "kill"
	faultConflict = "conflict"
)

// Phases of the matrix: the driver's phases, with clusterctl's move split
// into its create and delete halves.
const (
	mxPreflight = "preflight"
	mxOwners    = "owner-repair"
	mxIronic    = "ironic-handover"
	mxHosts     = "host-handover"
	mxBackup    = "backup"
	mxCreate    = "clusterctl create"
	mxDelete    = "clusterctl delete"
	mxVerify    = "verify"
)

var matrixPhases = []string{mxPreflight, mxOwners, mxHosts, mxBackup, mxIronic, mxCreate, mxDelete, mxVerify}

// matrixRow is one cell of the fault matrix and what happened.
type matrixRow struct {
	phase, fault string
	na           string // why the cell does not apply
	first        string // outcome of the faulted run
	resume       string // outcome of the resume
	lost         int
	changed      int // objects whose content differs from before the move
	violations   []string
	took         time.Duration
}

// runningMove is one `pivotcheck move` subprocess.
type runningMove struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	mu     sync.Mutex
	stderr bytes.Buffer
	phase  string // last "==> phase" line
	resume string // the printed resume command
	seen   map[string]chan struct{}
	done   chan struct{}
	err    error
}

func startMove(t *testing.T, bin string, args []string) *runningMove {
	t.Helper()
	m := &runningMove{cmd: exec.Command(bin, args...), seen: map[string]chan struct{}{}, done: make(chan struct{})}
	m.cmd.Stdout = &m.stdout
	pr, err := m.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, m.cmd.Start())
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			m.mu.Lock()
			m.stderr.WriteString(line + "\n")
			if p, ok := strings.CutPrefix(line, "==> "); ok {
				m.phase = strings.Fields(p)[0]
			}
			if _, c, ok := strings.Cut(line, "if this run is interrupted, resume with: "); ok {
				m.resume = c
			}
			for s, ch := range m.seen {
				if strings.Contains(line, s) {
					close(ch)
					delete(m.seen, s)
				}
			}
			m.mu.Unlock()
		}
		m.err = m.cmd.Wait()
		close(m.done)
	}()
	return m
}

// current is the phase the subprocess announced last.
func (m *runningMove) current() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.phase
}

func (m *runningMove) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-m.done:
	case <-time.After(timeout):
		_ = m.cmd.Process.Kill()
		<-m.done
		t.Fatalf("pivotcheck move did not end within %s; stderr:\n%s", timeout, m.stderrText())
	}
}

func (m *runningMove) stderrText() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stderr.String()
}

func (m *runningMove) report(t *testing.T) *Report {
	t.Helper()
	rep := &Report{}
	require.NoError(t, json.Unmarshal(m.stdout.Bytes(), rep), "stdout: %s\nstderr: %s", m.stdout.String(), m.stderrText())
	return rep
}

func (m *runningMove) killedBySignal(sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(m.err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

func exitCode(err error) int {
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// splitShell splits the resume command pivotcheck prints (its own
// shellQuote: plain words and '...' with '\” inside).
func splitShell(s string) []string {
	var out []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			cur.WriteByte(c)
		case c == '\'':
			quoted, inWord = true, true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

// matrixEnv is what every row shares: the API server pair (the package's),
// one proxy in front of each, the binary and the target's Ironic.
type matrixEnv struct {
	bin      string
	src, dst *apiProxy
	srcKC    string
	dstKC    string
}

func newMatrixEnv(t *testing.T) *matrixEnv {
	t.Helper()
	ctx := context.Background()
	e := &matrixEnv{bin: pivotcheckBinary(t)}
	for _, side := range []*testenv.Cluster{pair.Bootstrap, pair.Target} {
		require.NoError(t, fixture.InstallManagement(ctx, side.Client, fixture.Management{
			Ironic: ptr.To(int32(1)), Keepalived: true, BMOVersion: fixture.BMODefaultVersion, Providers: fixture.CAPIProviders()}))
	}
	require.NoError(t, fixture.InstallBMOWebhook(ctx, pair.Target.Client, admissionregistrationv1.Ignore))
	installIronic(t, pair.Target.Client, fixture.BMODefaultVersion, true)
	e.src, e.dst = newAPIProxy(t, "bootstrap", pair.Bootstrap), newAPIProxy(t, "target", pair.Target)
	e.srcKC, e.dstKC = e.src.kubeconfig(t), e.dst.kubeconfig(t)
	return e
}

// fixtureFor builds a row's namespace: one control-plane machine, one
// spare host, a BMC Secret without owner (so owner repair writes), and two
// IPAddress objects of one name in both IPAM groups.
func fixtureFor(t *testing.T, ns string) []fixture.Ref {
	t.Helper()
	ctx := context.Background()
	// The previous row stopped the source Ironic: bring it back.
	installIronic(t, pair.Bootstrap.Client, fixture.BMODefaultVersion, true)
	res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, SpareHosts: 1,
		Faults: fixture.Faults{BMCSecretWithoutOwner: true}})
	require.NoError(t, err)
	return append(append([]fixture.Ref(nil), res.Objects...), addSameNamedIPs(t, pair.Bootstrap.Client, ns)...)
}

// where counts, per fixture object, whether it is in the source and in the target.
func where(t *testing.T, refs []fixture.Ref) (inSrc, inDst map[fixture.Ref]bool) {
	return present(t, pair.Bootstrap.Client, refs), present(t, pair.Target.Client, refs)
}

// checkAllMoved fails the test for every object not exactly in the target
// (lost, not moved, or left in the source) and counts the lost ones.
func checkAllMoved(t *testing.T, refs []fixture.Ref, inSrc, inDst map[fixture.Ref]bool) int {
	t.Helper()
	lost := 0
	for _, r := range refs {
		switch {
		case !inDst[r] && !inSrc[r]:
			lost++
			t.Errorf("%s lost", r)
		case !inDst[r]:
			t.Errorf("%s not moved", r)
		case inSrc[r]:
			t.Errorf("%s left in the source", r)
		}
	}
	return lost
}

// lostObjects counts fixture objects present in neither cluster.
func lostObjects(t *testing.T, refs []fixture.Ref) int {
	inSrc, inDst := where(t, refs)
	n := 0
	for _, r := range refs {
		if !inSrc[r] && !inDst[r] {
			t.Errorf("%s exists in neither cluster", r)
			n++
		}
	}
	return n
}

// expectedState is what the report must say of one side, computed here
// from the cluster with the test's own reads.
func expectedState(t *testing.T, c client.Client, ns string, plan []fixtureRefOrObject, refs []fixture.Ref) []string {
	t.Helper()
	ctx := context.Background()
	var want []string
	if len(plan) > 0 {
		have := present(t, c, refs)
		n := 0
		for _, o := range plan {
			for _, r := range refs {
				if r.GVK().Group == o.Group && r.Kind == o.Kind && r.Name == o.Name && have[r] {
					n++
				}
			}
		}
		want = append(want, fmt.Sprintf("%d of %d planned objects present", n, len(plan)))
	} else {
		want = append(want, "no plan computed yet")
	}
	cls := &clusterv1.ClusterList{}
	require.NoError(t, c.List(ctx, cls, client.InNamespace(ns)))
	var p, u []string
	for _, cl := range cls.Items {
		if ptr.Deref(cl.Spec.Paused, false) {
			p = append(p, cl.Name)
		} else {
			u = append(u, cl.Name)
		}
	}
	want = append(want, fmt.Sprintf("Clusters paused: [%s], unpaused: [%s]", strings.Join(p, " "), strings.Join(u, " ")))
	hosts := &bmov1alpha1.BareMetalHostList{}
	require.NoError(t, c.List(ctx, hosts, client.InNamespace(ns)))
	mine, with, unpaused := 0, 0, 0
	for _, h := range hosts.Items {
		switch h.Annotations[bmov1alpha1.PausedAnnotation] {
		case hostsafety.PivotcheckPauseValue:
			mine++
		case "":
			unpaused++
		}
		if _, ok := h.Annotations[bmov1alpha1.StatusAnnotation]; ok {
			with++
		}
	}
	want = append(want, fmt.Sprintf("%d BareMetalHosts (%d paused by pivotcheck, 0 paused by others, %d unpaused; %d with status annotation)", len(hosts.Items), mine, unpaused, with))
	err := c.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, &appsv1.Deployment{})
	if err == nil {
		want = append(want, "Ironic running: Deployment "+fixture.BMONamespace+"/"+fixture.IronicName)
	} else {
		want = append(want, "Ironic running: none")
	}
	return want
}

type fixtureRefOrObject = struct {
	Group, Kind, Namespace, Name string
}

// planOf turns the report's plan into comparable entries.
func planOf(rep *Report) []fixtureRefOrObject {
	out := make([]fixtureRefOrObject, 0, len(rep.Objects))
	for _, o := range rep.Objects {
		out = append(out, fixtureRefOrObject{Group: o.Group, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name})
	}
	return out
}

// isPC / isCC tell pivotcheck's own requests from clusterctl's (the library
// sets its own user agent).
func isPC(r *http.Request) bool { return strings.HasPrefix(r.UserAgent(), "pivotcheck") }
func isCC(r *http.Request) bool { return strings.HasPrefix(r.UserAgent(), "clusterctl") }
func inNS(r *http.Request, ns string) bool {
	return strings.Contains(r.URL.Path, "/namespaces/"+ns+"/")
}
func isDryRun(r *http.Request) bool { return r.URL.Query().Get("dryRun") != "" }
func isLease(r *http.Request) bool  { return strings.Contains(r.URL.Path, "/leases/") }

// target of a row's fault: which proxy, which requests.
func rowMatch(phase, ns string, m func() *runningMove) (side string, match func(*http.Request) bool) {
	switch phase {
	case mxPreflight:
		return "src", func(r *http.Request) bool {
			return isPC(r) && r.Method == http.MethodGet && m().current() == PhasePreflight
		}
	case mxOwners:
		return "src", func(r *http.Request) bool {
			return isPC(r) && r.Method == http.MethodPatch && inNS(r, ns) && strings.Contains(r.URL.Path, "/secrets/") && !isDryRun(r)
		}
	case mxHosts:
		return "src", func(r *http.Request) bool {
			return isPC(r) && r.Method == http.MethodPatch && inNS(r, ns) && strings.Contains(r.URL.Path, "/baremetalhosts/") && !isDryRun(r)
		}
	case mxBackup:
		return "src", func(r *http.Request) bool {
			return isPC(r) && r.Method == http.MethodGet && inNS(r, ns) && m().current() == PhaseBackup
		}
	case mxIronic:
		return "src", func(r *http.Request) bool {
			return isPC(r) && r.Method == http.MethodDelete && strings.HasSuffix(r.URL.Path, "/deployments/"+fixture.IronicName)
		}
	case mxCreate:
		return "dst", func(r *http.Request) bool { return isCC(r) && r.Method == http.MethodPost && inNS(r, ns) }
	case mxDelete:
		return "src", func(r *http.Request) bool { return isCC(r) && r.Method == http.MethodDelete && inNS(r, ns) }
	case mxVerify:
		return "dst", func(r *http.Request) bool {
			return isPC(r) && r.Method == http.MethodPatch && inNS(r, ns) && strings.Contains(r.URL.Path, "/baremetalhosts/")
		}
	}
	panic("unknown phase " + phase)
}

// reportPhase is the driver phase a matrix phase fails in.
func reportPhase(phase string) string {
	switch phase {
	case mxCreate, mxDelete:
		return PhaseMove
	}
	return phase
}

// TestFaultMatrix injects, in every phase of `pivotcheck move` (a real
// subprocess of the command, with the real preflight engine, against the
// package's two API servers behind fault proxies), an API error that
// outlasts pivotcheck's retries, a SIGKILL in the middle of the phase's
// writes, and conflicts on pivotcheck's own writes. For every row it
// checks that the report names both clusters' state exactly, that the
// printed resume command completes, that every object ends up exactly in
// the target, that no host is ever unpaused in both clusters and that the
// source Ironic never goes while the source owns a host not handed over.
// It prints the matrix and the objects lost across it.
func TestFaultMatrix(t *testing.T) {
	needEnv(t)
	start := time.Now()
	env := newMatrixEnv(t)
	var rows []*matrixRow
	for _, phase := range matrixPhases {
		for _, fault := range []string{faultAPIError, faultKill, faultConflict} {
			row := &matrixRow{phase: phase, fault: fault}
			rows = append(rows, row)
			switch {
			case fault == faultConflict && phase == mxPreflight:
				row.na = "preflight writes nothing"
				continue
			case fault == faultConflict && phase == mxBackup:
				row.na = "a first run's backup writes no object (files only)"
				continue
			}
			t.Run(strings.ReplaceAll(phase, " ", "-")+"/"+fault, func(t *testing.T) { env.runRow(t, row) })
		}
	}
	// Operator mistakes, refused in the lock phase before anything is written.
	for _, fault := range []string{mistakeSameCluster, mistakeResumeNoState, mistakeConcurrent} {
		row := &matrixRow{phase: mxLock, fault: fault}
		rows = append(rows, row)
		t.Run("lock/"+fault, func(t *testing.T) { env.runMistakeRow(t, row) })
	}
	var b strings.Builder
	lost := 0
	changed := 0
	fmt.Fprintf(&b, "\nfault matrix (%s):\n| phase | fault | faulted run | resume | objects lost | content changed | invariants | time |\n|---|---|---|---|---|---|---|---|\n", time.Since(start).Round(time.Second))
	for _, r := range rows {
		if r.na != "" {
			fmt.Fprintf(&b, "| %s | %s | n/a: %s | | | | | |\n", r.phase, r.fault, r.na)
			continue
		}
		inv := "held"
		if len(r.violations) > 0 {
			inv = strings.Join(r.violations, "; ")
		}
		lost += r.lost
		changed += r.changed
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %d | %s | %s |\n", r.phase, r.fault, r.first, r.resume, r.lost, r.changed, inv, r.took.Round(100*time.Millisecond))
	}
	fmt.Fprintf(&b, "objects lost across the matrix: %d; objects whose content changed: %d\n", lost, changed)
	t.Log(b.String())
	fmt.Print(b.String())
	require.Zero(t, lost, "objects lost across the matrix")
	require.Zero(t, changed, "objects whose content changed across the matrix")
}

func (e *matrixEnv) runRow(t *testing.T, row *matrixRow) {
	t0 := time.Now()
	defer func() { row.took = time.Since(t0) }()
	ns := "fm-" + strings.NewReplacer(" ", "-", "clusterctl-", "cc-", "-handover", "", "owner-repair", "owners").Replace(row.phase) + "-" + row.fault
	refs := fixtureFor(t, ns)
	// Content, not only presence: every object must reach the target (or
	// stay in the source) with its spec and data unchanged.
	before := readContent(t, pair.Bootstrap.Client, ns, false)
	inv := watchInvariants(t, ns)
	defer func() {
		row.violations, _ = inv.stop()
		require.Empty(t, row.violations, "invariants")
	}()
	backup := filepath.Join(t.TempDir(), "backup")
	args := []string{"move", "--kubeconfig", e.srcKC, "--to-kubeconfig", e.dstKC, "-n", ns, "--backup-dir", backup,
		"--fix-owners", "-o", "json", "--target-ironic-timeout", "20s", "--ironic-stop-timeout", "20s"}

	var m *runningMove
	mu := sync.Mutex{}
	get := func() *runningMove { mu.Lock(); defer mu.Unlock(); return m }
	side, match := rowMatch(row.phase, ns, get)
	proxy := e.src
	if side == "dst" {
		proxy = e.dst
	}
	// The Lease's renewals are no request of the phase: a fault meant
	// for the phase must not hit them.
	f := &proxyFault{match: func(r *http.Request) bool { return !isLease(r) && match(r) }}
	var signalled time.Time
	switch row.fault {
	case faultAPIError:
		// Every matching write fails until the run ended (outlasting
		// pivotcheck's retries); a failing read is not retried, and one
		// is enough (more would also fail the report's own reads).
		f.status, f.budget = http.StatusInternalServerError, -1
		if row.phase == mxPreflight || row.phase == mxBackup {
			f.budget = 1
		}
		if row.phase == mxCreate || row.phase == mxDelete {
			// clusterctl retries each write for minutes: after 3 s of
			// errors the operator presses Ctrl-C (a real SIGINT).
			f.budget = -1
			var once sync.Once
			f.onHit = func(int) {
				once.Do(func() {
					time.AfterFunc(3*time.Second, func() {
						mu.Lock()
						signalled = time.Now()
						mu.Unlock()
						_ = get().cmd.Process.Signal(syscall.SIGINT)
					})
				})
			}
		}
	case faultConflict:
		f.status, f.budget = http.StatusConflict, 2
	case faultKill:
		f.budget = 1
		if row.phase == mxCreate || row.phase == mxDelete {
			// In the middle of clusterctl's pass, not at its first write.
			f.budget = -1
			inner := f.match
			n := 0
			f.match = func(r *http.Request) bool {
				if !inner(r) {
					return false
				}
				n++
				return n == 5
			}
		}
		f.afterForward = func() { _ = get().cmd.Process.Kill() }
	}
	proxy.set(f)
	mu.Lock()
	m = startMove(t, e.bin, args)
	mu.Unlock()
	m.wait(t, 3*time.Minute)
	exited := time.Now()
	hits := proxy.set(nil)
	t.Logf("faulted run:\n%s", phaseLines(m.stderrText()))
	require.Positive(t, hits, "the fault never matched a request: the row tests nothing\n%s", m.stderrText())

	inSrc, inDst := where(t, refs)
	for _, r := range refs {
		if !inSrc[r] && !inDst[r] {
			row.lost++
			t.Errorf("%s is in neither cluster after the faulted run", r)
		}
	}
	// Hand-over annotations and pauses differ by design while a move is
	// interrupted; spec and data must not.
	mid := mergedSides(before, readContent(t, pair.Bootstrap.Client, ns, false), readContent(t, pair.Target.Client, ns, false))
	if d := diffContent(before, mid, bmov1alpha1.PausedAnnotation, bmov1alpha1.StatusAnnotation, clusterctlv1.DeleteForMoveAnnotation, ignorePaused); len(d) > 0 {
		row.changed += len(d)
		t.Errorf("after the faulted run, %d object(s) lost or changed:\n%s", len(d), joinLines(d))
	}

	switch row.fault {
	case faultConflict:
		require.NoError(t, m.err, "conflicts must be retried: %s", m.stderrText())
		rep := m.report(t)
		require.True(t, rep.Verified)
		row.first = fmt.Sprintf("completed and verified after %d injected conflict(s)", hits)
		row.resume = "not needed"
	case faultKill:
		require.True(t, m.killedBySignal(syscall.SIGKILL), "exit: %v", m.err)
		row.first = fmt.Sprintf("SIGKILL at %s", strings.TrimSpace(row.phase))
	case faultAPIError:
		require.Equal(t, 1, exitCode(m.err), "stderr: %s", m.stderrText())
		rep := m.report(t)
		require.Equal(t, reportPhase(row.phase), rep.FailedPhase, rep.Error)
		if row.phase == mxCreate || row.phase == mxDelete {
			mu.Lock()
			took := exited.Sub(signalled)
			mu.Unlock()
			require.Less(t, took, 10*time.Second, "SIGINT must end the run within 10 s; stderr:\n%s", m.stderrText())
			want := map[string]string{mxCreate: "Creating objects in the target cluster", mxDelete: "Deleting objects from the source cluster"}[row.phase]
			require.Equal(t, want, rep.MoveStep)
			row.first = fmt.Sprintf("%d API errors, then SIGINT: report in %s, failed in %s (%s)", hits, took.Round(100*time.Millisecond), rep.FailedPhase, rep.MoveStep)
		} else {
			if row.phase != mxPreflight && row.phase != mxBackup {
				// A write of pivotcheck's own: every attempt of its
				// retries reached the server before the run gave up.
				require.GreaterOrEqual(t, hits, writeBackoff.Steps, "the failing write was not retried %d times; stderr:\n%s", writeBackoff.Steps, m.stderrText())
			}
			row.first = fmt.Sprintf("%d API error(s): failed in %s with report", hits, rep.FailedPhase)
		}
		plan := planOf(rep)
		for _, w := range expectedState(t, pair.Bootstrap.Client, ns, plan, refs) {
			require.Contains(t, rep.SourceState, w)
		}
		for _, w := range expectedState(t, pair.Target.Client, ns, plan, refs) {
			require.Contains(t, rep.TargetState, w)
		}
		if row.phase == mxPreflight {
			require.Empty(t, rep.ResumeCommand, "nothing changed: re-run, not resume")
		} else {
			require.NotEmpty(t, rep.ResumeCommand)
			require.Equal(t, m.resume, rep.ResumeCommand, "the command printed up front is the report's")
		}
	}
	if row.fault != faultConflict {
		// Resume with the command pivotcheck printed (the same command
		// again when it failed before printing one: nothing was changed).
		again := args
		if m.resume != "" {
			words := splitShell(m.resume)
			require.Equal(t, "pivotcheck", words[0])
			again = words[1:]
			row.resume = "printed --resume command"
		} else {
			row.resume = "same command again (nothing was changed)"
		}
		if row.fault == faultKill {
			// The killed run could not release its Lease: its process is
			// gone, which the operator states with --take-over-lock.
			again = append(slices.Clone(again), "--take-over-lock")
			row.resume += " + --take-over-lock"
		}
		r := startMove(t, e.bin, again)
		r.wait(t, 3*time.Minute)
		require.NoError(t, r.err, "resume: %s\n%s", r.stdout.String(), r.stderrText())
		t.Logf("resume run:\n%s", phaseLines(r.stderrText()))
		rep := r.report(t)
		require.True(t, rep.Verified)
		row.resume += ": completed and verified"
	}
	// Every object exactly in the target, nowhere else.
	inSrc, inDst = where(t, refs)
	row.lost += checkAllMoved(t, refs, inSrc, inDst)
	// The target holds what the source held, by content (hosts: their
	// annotations are checked below).
	if d := diffContent(before, readContent(t, pair.Target.Client, ns, false), bmov1alpha1.PausedAnnotation, bmov1alpha1.StatusAnnotation); len(d) > 0 {
		row.changed += len(d)
		t.Errorf("the target differs from the source before the move in %d object(s):\n%s", len(d), joinLines(d))
	}
	hosts := &bmov1alpha1.BareMetalHostList{}
	require.NoError(t, pair.Target.Client.List(context.Background(), hosts, client.InNamespace(ns)))
	for _, h := range hosts.Items {
		require.NotContains(t, h.Annotations, bmov1alpha1.PausedAnnotation, "%s: handed to the target BMO", h.Name)
		require.Contains(t, h.Annotations, bmov1alpha1.StatusAnnotation, h.Name)
	}
	for _, r := range sameNamedIPs {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(r.GVK())
		require.NoError(t, pair.Target.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: r.Name}, u), r.APIVersion)
	}
}

// phaseLines keeps the phase lines of a run's progress output.
func phaseLines(s string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(l, "==> ") || strings.HasPrefix(l, "    ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Operator mistakes of the matrix (phase lock).
const (
	mxLock               = "lock"
	mistakeSameCluster   = "same cluster via two kubeconfigs"
	mistakeResumeNoState = "--resume without state"
	mistakeConcurrent    = "second concurrent run"
)

// runMistakeRow makes one operator mistake with the real binary and checks
// that it is refused in the lock phase with nothing written in either
// cluster (every object of the namespace, every Deployment, the Leases),
// then that the corrected command completes with every object moved.
func (e *matrixEnv) runMistakeRow(t *testing.T, row *matrixRow) {
	t0 := time.Now()
	defer func() { row.took = time.Since(t0) }()
	ns := "fm-lock-" + map[string]string{mistakeSameCluster: "same", mistakeResumeNoState: "nostate", mistakeConcurrent: "concurrent"}[row.fault]
	refs := fixtureFor(t, ns)
	inv := watchInvariants(t, ns)
	defer func() {
		row.violations, _ = inv.stop()
		require.Empty(t, row.violations, "invariants")
	}()
	backup := filepath.Join(t.TempDir(), "backup")
	args := []string{"move", "--kubeconfig", e.srcKC, "--to-kubeconfig", e.dstKC, "-n", ns, "--backup-dir", backup,
		"--fix-owners", "-o", "json", "--target-ironic-timeout", "20s", "--ironic-stop-timeout", "20s"}
	refused := func(args []string, want string) *Report {
		t.Helper()
		before := clusterState(t, ns)
		m := startMove(t, e.bin, args)
		m.wait(t, time.Minute)
		require.Equal(t, 1, exitCode(m.err), m.stderrText())
		rep := m.report(t)
		require.Equal(t, PhaseLock, rep.FailedPhase, rep.Error)
		require.Contains(t, rep.Error, want)
		if slices.Contains(args, "--resume") && row.fault == mistakeConcurrent {
			// A resume refused only because the folder is busy can be run later.
			require.Equal(t, m.resume, "", "nothing printed before the refusal")
			require.Contains(t, rep.ResumeCommand, "--resume")
		} else {
			require.Empty(t, rep.ResumeCommand)
		}
		require.Equal(t, before, clusterState(t, ns), "the refused run wrote nothing")
		row.lost += lostObjects(t, refs)
		return rep
	}
	switch row.fault {
	case mistakeSameCluster:
		// The bootstrap through the proxy and directly: two files, two
		// context names, two URLs, one cluster.
		wrong := slices.Clone(args)
		wrong[4] = pair.Bootstrap.Kubeconfig
		rep := refused(wrong, "are the same cluster")
		require.Contains(t, rep.Error, "refusing to move a namespace onto itself")
		row.first = "refused in lock: source and target are the same cluster (one kube-system UID)"
		require.NoDirExists(t, backup)
	case mistakeResumeNoState:
		refused(append(slices.Clone(args), "--resume"), "holds no pivotcheck-state.json")
		row.first = "refused in lock: no state of an earlier attempt"
		require.NoDirExists(t, backup)
	case mistakeConcurrent:
		// The first run, in this process, stops at the start of its backup
		// (hosts handed over); the second is the real command.
		first := Options{Source: kube.Cluster{Kubeconfig: e.srcKC}, Target: kube.Cluster{Kubeconfig: e.dstKC}, Namespace: ns,
			BackupDir: filepath.Join(t.TempDir(), "first"), FixOwners: true, IronicGoneTimeout: 20 * time.Second,
			TargetIronicTimeout: 20 * time.Second, PollInterval: 100 * time.Millisecond, Log: testLog(t), Out: &testWriter{t: t}}
		reached, goOn := make(chan struct{}), make(chan struct{})
		first.OnPhase = func(p string) {
			if p == PhaseBackup {
				close(reached)
				<-goOn
			}
		}
		var firstErr error
		ended := make(chan struct{})
		go func() {
			rep, err := Run(context.Background(), first)
			if err == nil && !rep.Verified {
				err = errors.New("not verified")
			}
			firstErr = err
			close(ended)
		}()
		// Whatever fails below, the first run is let go and waited for (it
		// logs through this test).
		letGo := sync.OnceFunc(func() { close(goOn) })
		finished := func() error { letGo(); <-ended; return firstErr }
		defer func() { _ = finished() }()
		select {
		case <-reached:
		case <-ended:
			t.Fatalf("the first run ended before its backup: %v", firstErr)
		}
		lease := &coordinationv1.Lease{}
		require.NoError(t, pair.Bootstrap.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: movelock.LeaseName}, lease))
		refused(args, "held by "+ptr.Deref(lease.Spec.HolderIdentity, "")+" since "+lease.Spec.AcquireTime.UTC().Format(time.RFC3339))
		require.NoDirExists(t, backup)
		// A --resume of the first run's folder: the folder is busy.
		resumeFirst := slices.Clone(args)
		resumeFirst[8] = first.BackupDir
		refused(append(resumeFirst, "--resume"), "is in use by another pivotcheck run")
		require.NoError(t, finished(), "the first run completes")
		row.first = "refused in lock, naming the holder and since when; the first run completed"
		row.resume = "not needed (the first run moved everything)"
		requireNoLease(t, ns)
	}
	if row.fault != mistakeConcurrent {
		m := startMove(t, e.bin, args)
		m.wait(t, 3*time.Minute)
		require.NoError(t, m.err, m.stderrText())
		require.True(t, m.report(t).Verified)
		row.resume = "corrected command: completed and verified"
	}
	inSrc, inDst := where(t, refs)
	row.lost += checkAllMoved(t, refs, inSrc, inDst)
}
