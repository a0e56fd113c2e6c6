package move

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/internal/test/upstream"
)

// rollbackRow is one row of the rollback matrix: where the move is killed.
type rollbackRow struct {
	name string
	// phase: the move is killed (its context cancelled) as this phase starts.
	phase string
	// creates: killed at clusterctl's n-th Creating event instead.
	creates int32
	// atCommit: killed at the commit point (clusterctl's delete step).
	atCommit bool
	// killRollback: the first rollback is killed before its first write
	// of this kind, then run again.
	killRollback string
	// midWrite: killed right after the first source request this matches
	// reached the API server (through a proxy), before its answer.
	midWrite func(r *http.Request) bool
}

// installPair gives both clusters BMO, Ironic and the CAPI providers, as
// the fault matrix does, with the target's Ironic available.
func installPair(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, side := range []bool{false, true} {
		cl := pair.Bootstrap.Client
		if side {
			cl = pair.Target.Client
		}
		require.NoError(t, fixture.InstallManagement(ctx, cl, fixture.Management{
			Ironic: ptr.To(int32(1)), Keepalived: true, BMOVersion: fixture.BMODefaultVersion, Providers: fixture.CAPIProviders()}))
	}
	installIronic(t, pair.Target.Client, fixture.BMODefaultVersion, true)
}

// TestRollbackMatrix kills `move` (context cancelled, as SIGINT does) at
// the start of every phase before the commit point, right after its first
// host patch and right after its Ironic delete reached the API server, and
// in the middle of clusterctl's create step, runs rollback, and requires the source to
// hold exactly what it held before the move (content, not only presence:
// every object's spec and data, the hosts' pause and status annotations,
// Cluster spec.paused, the Ironic Deployment's spec) and the target to
// hold nothing this move created. One row kills the rollback itself
// midway and runs it again; one row kills the move at its commit point,
// where rollback must refuse, naming --resume, and write nothing.
// Every row with the linked Cluster API release's CRDs; with the older
// release's, the rows where clusterctl has written (its create step, the
// killed rollback, the commit point).
func TestRollbackMatrix(t *testing.T) {
	needEnv(t)
	srv, _ := ironicAPI(t, 1<<20)
	testenv.ForEachClusterAPI(t, &pair, func(t *testing.T, capi upstream.Module) { rollbackMatrix(t, capi, srv.URL) })
}

func rollbackMatrix(t *testing.T, capi upstream.Module, ironicURL string) {
	installPair(t)
	rows := []rollbackRow{
		{name: "preflight", phase: PhasePreflight},
		{name: "checks", phase: PhaseChecks},
		{name: "owner-repair", phase: PhaseOwners},
		{name: "host-handover", phase: PhaseHosts},
		{name: "mid-host-handover", midWrite: func(r *http.Request) bool {
			return r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/baremetalhosts/") && !isDryRun(r)
		}},
		{name: "backup", phase: PhaseBackup},
		{name: "ironic-handover", phase: PhaseIronic},
		{name: "mid-ironic-handover", midWrite: func(r *http.Request) bool {
			return r.Method == http.MethodDelete && strings.HasSuffix(r.URL.Path, "/deployments/"+fixture.IronicName)
		}},
		{name: "ironic-api", phase: PhaseIronicAPI},
		{name: "move-start", phase: PhaseMove},
		{name: "move-mid-create", creates: 5},
		{name: "rollback-killed", creates: 5, killRollback: ActRecreateIronic},
		{name: "commit-point", atCommit: true},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\nCluster API %s CRDs:\n| move killed at | rollback | source after = before | target: copies left |\n|---|---|---|---|\n", capi.Version)
	for _, row := range rows {
		if capi != upstream.ClusterAPI && row.creates == 0 && !row.atCommit {
			continue
		}
		t.Run(row.name, func(t *testing.T) {
			line := runRollbackRow(t, row, ironicURL)
			table.WriteString(line + "\n")
		})
	}
	t.Log(table.String())
	fmt.Print(table.String())
}

func runRollbackRow(t *testing.T, row rollbackRow, ironicURL string) string {
	ctx := context.Background()
	ns := "rb-" + row.name
	fixtureFor(t, ns)
	srcBefore := readContent(t, pair.Bootstrap.Client, ns, true)
	dstBefore := readContent(t, pair.Target.Client, ns, false)

	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	opts.FixOwners, opts.WaitForHosts, opts.IronicURL = true, false, ironicURL
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	switch {
	case row.midWrite != nil:
		p := newAPIProxy(t, "bootstrap", pair.Bootstrap)
		p.set(&proxyFault{match: row.midWrite, budget: 1, afterForward: cancel})
		opts.Source = kube.Cluster{Kubeconfig: p.kubeconfig(t)}
	case row.phase != "":
		opts.OnPhase = func(p string) {
			if p == row.phase {
				cancel()
			}
		}
	case row.creates > 0:
		var n atomic.Int32
		opts.OnEvent = func(e mover.Event) {
			if e.Action == mover.Creating && n.Add(1) == row.creates {
				cancel()
			}
		}
	case row.atCommit:
		opts.OnEvent = func(e mover.Event) {
			if e.Phase == mover.PhaseDeleting {
				cancel()
			}
		}
	}
	rep, err := Run(runCtx, opts)
	require.Error(t, err, "the killed move must fail")
	t.Logf("move failed in %s: %v", rep.FailedPhase, err)

	ropts := RollbackOptions{Source: target(pair.Bootstrap), Target: target(pair.Target), Namespace: ns, BackupDir: opts.BackupDir, Out: &testWriter{t: t}, Log: testLog(t)}
	outcome := ""
	switch {
	case row.phase == PhasePreflight || row.phase == PhaseChecks:
		// Nothing was written, not even the record.
		_, err := Rollback(ctx, ropts)
		require.Error(t, err)
		require.NotContains(t, err.Error(), "\n")
		outcome = "refused (nothing recorded, nothing changed): " + err.Error()
	case row.atCommit:
		st, err := readState(opts.BackupDir)
		require.NoError(t, err)
		require.NotNil(t, st.SourceDeleteStarted, "the commit point is recorded before clusterctl's first delete")
		before := readContent(t, pair.Bootstrap.Client, ns, true)
		_, err = Rollback(ctx, ropts)
		var r *RollbackRefusal
		require.ErrorAs(t, err, &r)
		require.Contains(t, err.Error(), "pivotcheck move --resume --backup-dir "+opts.BackupDir)
		require.NotContains(t, err.Error(), "\n")
		requireSameContent(t, before, readContent(t, pair.Bootstrap.Client, ns, true), "a refused rollback writes nothing")
		return fmt.Sprintf("| %s | refused: %s | n/a (move goes on with --resume) | n/a |", row.name, err)
	case row.killRollback != "":
		rctx, rcancel := context.WithCancel(ctx)
		k := ropts
		k.OnAction = func(a RollbackAction) {
			if a.Action == row.killRollback {
				rcancel()
			}
		}
		res, err := Rollback(rctx, k)
		rcancel()
		require.Error(t, err)
		require.False(t, res.Done)
		t.Logf("first rollback stopped: %v", err)
		// A half-done rollback is finished by rollback, not resumed as a move.
		ro := opts
		ro.Resume, ro.OnPhase, ro.OnEvent = true, nil, nil
		_, err = Run(ctx, ro)
		require.ErrorContains(t, err, "did not finish: finish it with pivotcheck rollback --backup-dir")
		res, err = Rollback(ctx, ropts)
		require.NoError(t, err)
		require.True(t, res.Done)
		outcome = fmt.Sprintf("killed before %s, run again: %d write(s) left", row.killRollback, len(res.Actions))
	default:
		res, err := Rollback(ctx, ropts)
		require.NoError(t, err)
		require.True(t, res.Done)
		outcome = fmt.Sprintf("%d write(s)", len(res.Actions))
		// Idempotent: a second run finds nothing to do.
		again, err := Rollback(ctx, ropts)
		require.NoError(t, err)
		require.Empty(t, again.Actions, "a second rollback must find nothing to do")
		st, err := readState(opts.BackupDir)
		require.NoError(t, err)
		require.NotNil(t, st.RolledBack)
		// The rolled-back folder cannot be resumed.
		opts.Resume, opts.OnPhase, opts.OnEvent = true, nil, nil
		_, err = Run(ctx, opts)
		require.ErrorContains(t, err, "was rolled back")
	}
	srcAfter := readContent(t, pair.Bootstrap.Client, ns, true)
	requireSameContent(t, srcBefore, srcAfter, "source after rollback")
	dstAfter := readContent(t, pair.Target.Client, ns, false)
	requireSameContent(t, dstBefore, dstAfter, "target namespace after rollback")
	return fmt.Sprintf("| %s | %s | yes (%d objects + Ironic compared) | 0 |", row.name, outcome, len(srcBefore))
}

// TestIronicHandoverSavesManifests: the Ironic hand-over saves the
// manifest of every workload before it stops it and records what it did:
// deleted, or scaled from its replicas.
func TestIronicHandoverSavesManifests(t *testing.T) {
	needEnv(t)
	installPair(t)
	for _, mode := range []string{HandoverDelete, HandoverScaleToZero} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			ns := "rb-save-" + mode
			fixtureFor(t, ns)
			before := readContent(t, pair.Bootstrap.Client, ns, true)
			opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
			opts.WaitForHosts, opts.IronicHandover = false, mode
			runCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			opts.OnPhase = func(p string) {
				if p == PhaseMove {
					cancel()
				}
			}
			_, err := Run(runCtx, opts)
			require.Error(t, err)
			st, err := readState(opts.BackupDir)
			require.NoError(t, err)
			require.Len(t, st.IronicWorkloads, 1)
			r := st.IronicWorkloads[0]
			require.Equal(t, "Deployment", r.Kind)
			require.Equal(t, fixture.IronicName, r.Name)
			if mode == HandoverDelete {
				require.Equal(t, IronicDeleted, r.Action)
			} else {
				require.Equal(t, IronicScaled, r.Action)
				require.Equal(t, int32(1), *r.Replicas)
			}
			raw, err := os.ReadFile(filepath.Join(opts.BackupDir, r.Manifest))
			require.NoError(t, err)
			_, err = ParseBackupFile(r.Manifest, raw)
			require.NoError(t, err)
			m := &unstructured.Unstructured{}
			require.NoError(t, m.UnmarshalJSON(raw))
			require.Empty(t, m.GetResourceVersion())
			require.Empty(t, m.GetUID())
			require.Empty(t, m.GetManagedFields())
			require.NotContains(t, m.Object, "status")
			n, _, _ := unstructured.NestedInt64(m.Object, "spec", "replicas")
			require.Equal(t, int64(1), n, "the manifest is the one from before the stop")
			res, err := Rollback(ctx, RollbackOptions{Source: target(pair.Bootstrap), Target: target(pair.Target), Namespace: ns, BackupDir: opts.BackupDir, Log: testLog(t)})
			require.NoError(t, err)
			want := ActRecreateIronic
			if mode == HandoverScaleToZero {
				want = ActScaleIronic
			}
			require.Contains(t, actions(res), want)
			requireSameContent(t, before, readContent(t, pair.Bootstrap.Client, ns, true), "source after rollback")
		})
	}
}

func actions(r *RollbackResult) []string {
	var out []string
	for _, a := range r.Actions {
		out = append(out, a.Action)
	}
	return out
}

// TestCommitPointRecordedBeforeFirstDelete: with the built-in clusterctl
// library the commit point is in the state file on disk when clusterctl
// announces its first delete, and that object is then still in the
// source, untouched (no delete-for-move annotation yet).
func TestCommitPointRecordedBeforeFirstDelete(t *testing.T) {
	needEnv(t)
	installPair(t)
	ctx := context.Background()
	const ns = "rb-commit-order"
	refs := fixtureFor(t, ns)
	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	opts.WaitForHosts = false
	var checked atomic.Bool
	var problems []string
	opts.OnEvent = func(e mover.Event) {
		if e.Action != mover.Deleting || !checked.CompareAndSwap(false, true) {
			return
		}
		st, err := readState(opts.BackupDir)
		if err != nil || st.SourceDeleteStarted == nil {
			problems = append(problems, fmt.Sprintf("state file without the commit point at the first delete (%v)", err))
		}
		found := false
		for _, r := range refs {
			if r.Kind != e.Object.Kind || r.Name != e.Object.Name {
				continue
			}
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(r.GVK())
			if err := pair.Bootstrap.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: r.Name}, u); err != nil {
				problems = append(problems, fmt.Sprintf("%s already gone from the source: %v", r, err))
				continue
			}
			found = true
			if _, ok := u.GetAnnotations()[clusterctlv1.DeleteForMoveAnnotation]; ok {
				problems = append(problems, r.String()+" already marked for deletion")
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("first deleted object %v not found in the fixture", e.Object))
		}
	}
	rep, err := Run(ctx, opts)
	require.NoError(t, err, "report: %+v", rep)
	require.True(t, checked.Load(), "no Deleting event seen")
	require.Empty(t, problems)
}
