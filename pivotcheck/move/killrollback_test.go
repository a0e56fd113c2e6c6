package move

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/movelock"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

// mxIronicAPI is the ironic-api phase of a kill row: the move is killed
// when its GET of the target's Ironic API reaches the (test) Ironic.
const mxIronicAPI = "ironic-api"

// killRow is one row of TestRollbackAfterKill.
type killRow struct {
	phase        string // where the move is SIGKILLed (a fault-matrix phase)
	killRollback bool   // the first rollback is SIGKILLed after its first write
	kill         string // what was killed, and the phase the move announced last
	rollback     string
	equal        string
	took         time.Duration
}

// TestRollbackAfterKill SIGKILLs the real `pivotcheck move` process (the
// fault matrix's subprocess, behind its API proxies) in every phase before
// the commit point that leaves a record, then runs the real `pivotcheck
// rollback --take-over-lock` with the same cluster flags: it must exit 0,
// leave the source exactly as before the move (content: specs, data, the
// hosts' pause and status annotations, Cluster spec.paused, the Ironic
// Deployment's spec), the target namespace without anything the move
// created, and both Leases released. One row also SIGKILLs the rollback
// right after its first write reached the API server and runs it again;
// one kills the move at clusterctl's first delete (the commit point),
// where rollback must refuse, naming --resume, and write nothing.
func TestRollbackAfterKill(t *testing.T) {
	needEnv(t)
	start := time.Now()
	env := newMatrixEnv(t)
	// The target's Ironic API: answers 401 (up, auth required); a kill
	// row for ironic-api SIGKILLs the move on its first probe.
	var onIronic atomic.Pointer[func()]
	ironicSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := onIronic.Swap(nil); f != nil {
			(*f)()
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(ironicSrv.Close)

	rows := []*killRow{
		{phase: mxOwners}, {phase: mxHosts}, {phase: mxBackup}, {phase: mxIronic}, {phase: mxIronicAPI},
		{phase: mxCreate}, {phase: mxCreate, killRollback: true}, {phase: mxDelete},
	}
	for _, row := range rows {
		name := strings.ReplaceAll(row.phase, " ", "-")
		if row.killRollback {
			name += "/rollback-killed"
		}
		t.Run(name, func(t *testing.T) { env.runKillRollbackRow(t, row, ironicSrv.URL, &onIronic) })
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nrollback after SIGKILL of the real binary (%s):\n| phase | kill | rollback result | source after = before | time (kill + rollback) |\n|---|---|---|---|---|\n", time.Since(start).Round(time.Second))
	for _, r := range rows {
		phase := r.phase
		if phase == mxDelete {
			phase += " (the commit point)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", phase, r.kill, r.rollback, r.equal, r.took.Round(100*time.Millisecond))
	}
	t.Log(b.String())
	fmt.Print(b.String())
}

func (e *matrixEnv) runKillRollbackRow(t *testing.T, row *killRow, ironicURL string, onIronic *atomic.Pointer[func()]) {
	ns := "kr-" + strings.NewReplacer(" ", "-", "clusterctl-", "cc-", "-handover", "", "owner-repair", "owners").Replace(row.phase)
	if row.killRollback {
		ns += "-rbkill"
	}
	fixtureFor(t, ns)
	// The row's time is the kill and the rollback, not the fixture (the
	// first row's fixture warms the API servers up for a minute).
	t0 := time.Now()
	defer func() { row.took = time.Since(t0) }()
	srcBefore := readContent(t, pair.Bootstrap.Client, ns, true)
	dstBefore := readContent(t, pair.Target.Client, ns, false)
	backup := filepath.Join(t.TempDir(), "backup")
	clusterFlags := []string{"--kubeconfig", e.srcKC, "--to-kubeconfig", e.dstKC, "-n", ns, "--backup-dir", backup}
	moveArgs := append(append([]string{"move"}, clusterFlags...), "--fix-owners", "-o", "json",
		"--target-ironic-timeout", "20s", "--ironic-stop-timeout", "20s", "--ironic-url", ironicURL)

	var m *runningMove
	var mu sync.Mutex
	get := func() *runningMove { mu.Lock(); defer mu.Unlock(); return m }
	kill := func() { _ = get().cmd.Process.Kill() }
	var proxy *apiProxy
	if row.phase == mxIronicAPI {
		onIronic.Store(&kill)
	} else {
		side, match := rowMatch(row.phase, ns, get)
		proxy = e.src
		if side == "dst" {
			proxy = e.dst
		}
		f := &proxyFault{match: func(r *http.Request) bool { return !isLease(r) && match(r) }, budget: 1, afterForward: kill}
		if row.phase == mxCreate {
			// In the middle of clusterctl's create pass, as the fault matrix does.
			f.budget = -1
			inner, n := f.match, 0
			f.match = func(r *http.Request) bool {
				if !inner(r) {
					return false
				}
				n++
				return n == 5
			}
		}
		proxy.set(f)
	}
	mu.Lock()
	m = startMove(t, e.bin, moveArgs)
	mu.Unlock()
	m.wait(t, 3*time.Minute)
	hits := 1
	if proxy != nil {
		hits = proxy.set(nil)
	} else if onIronic.Swap(nil) != nil {
		hits = 0
	}
	t.Logf("move killed after %s:\n%s", time.Since(t0).Round(100*time.Millisecond), phaseLines(m.stderrText()))
	require.Positive(t, hits, "the kill never matched a request: the row tests nothing\n%s", m.stderrText())
	require.True(t, m.killedBySignal(syscall.SIGKILL), "exit: %v\n%s", m.err, m.stderrText())
	row.kill = "SIGKILL of move in " + m.current()
	// The killed move could not release its Lease: rollback must take it over.
	for _, c := range []*testenv.Cluster{pair.Bootstrap, pair.Target} {
		require.NoError(t, c.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: movelock.LeaseName}, &coordinationv1.Lease{}),
			"%s: the killed move's Lease must be left behind", c.Name)
	}

	rbArgs := append(append([]string{"rollback"}, clusterFlags...), "--take-over-lock", "-o", "json")
	if row.phase == mxDelete {
		before, beforeContent := clusterState(t, ns), readContent(t, pair.Bootstrap.Client, ns, true)
		r := startMove(t, e.bin, rbArgs)
		r.wait(t, time.Minute)
		require.Equal(t, 1, exitCode(r.err), "stdout: %s\nstderr: %s", r.stdout.String(), r.stderrText())
		res := &RollbackResult{}
		require.NoError(t, json.Unmarshal(r.stdout.Bytes(), res), r.stdout.String())
		require.Contains(t, res.Error, "pivotcheck move --resume --backup-dir "+backup)
		require.Equal(t, before, clusterState(t, ns), "a refused rollback writes nothing (objects and Leases of both clusters)")
		requireSameContent(t, beforeContent, readContent(t, pair.Bootstrap.Client, ns, true), "a refused rollback writes nothing")
		t.Logf("refused: %s", res.Error)
		row.rollback = "exit 1, refused before any write, naming `pivotcheck move --resume --backup-dir DIR`; nothing written in either cluster"
		row.equal = "n/a (finish with --resume)"
		return
	}
	if row.killRollback {
		// Killed right after its first write (a target delete or finalizer
		// patch) reached the API server, before the answer.
		var rb *runningMove
		var rmu sync.Mutex
		e.dst.set(&proxyFault{budget: 1, match: func(r *http.Request) bool {
			return isPC(r) && !isLease(r) && !isDryRun(r) && inNS(r, ns) && (r.Method == http.MethodDelete || r.Method == http.MethodPatch)
		}, afterForward: func() { rmu.Lock(); defer rmu.Unlock(); _ = rb.cmd.Process.Kill() }})
		rmu.Lock()
		rb = startMove(t, e.bin, rbArgs)
		rmu.Unlock()
		rb.wait(t, 2*time.Minute)
		hits := e.dst.set(nil)
		require.Positive(t, hits, "the rollback's kill never matched: %s", rb.stderrText())
		require.True(t, rb.killedBySignal(syscall.SIGKILL), "exit: %v\n%s", rb.err, rb.stderrText())
		t.Logf("killed rollback:\n%s", rb.stderrText())
		require.NoError(t, pair.Bootstrap.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: movelock.LeaseName}, &coordinationv1.Lease{}),
			"the killed rollback's Lease must be left behind")
		row.kill += "; SIGKILL of rollback after its first target write"
	}
	r := startMove(t, e.bin, rbArgs)
	r.wait(t, 2*time.Minute)
	require.NoError(t, r.err, "rollback: stdout: %s\nstderr: %s", r.stdout.String(), r.stderrText())
	res := &RollbackResult{}
	require.NoError(t, json.Unmarshal(r.stdout.Bytes(), res), r.stdout.String())
	require.True(t, res.Done)
	t.Logf("rollback:\n%s", r.stderrText())
	row.rollback = fmt.Sprintf("exit 0, %d write(s)", len(res.Actions))
	if row.killRollback {
		row.rollback = fmt.Sprintf("re-run: exit 0, %d write(s) left", len(res.Actions))
	}
	requireSameContent(t, srcBefore, readContent(t, pair.Bootstrap.Client, ns, true), "source after rollback")
	requireSameContent(t, dstBefore, readContent(t, pair.Target.Client, ns, false), "target namespace after rollback")
	requireNoLease(t, ns)
	row.equal = fmt.Sprintf("yes (%d objects and Deployments compared; target clean; Leases released)", len(srcBefore))
}
