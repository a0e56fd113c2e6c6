package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/scenario"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/webhook"
)

// Namespaces of the two identical workload clusters: the one pivotcheck
// moves, and the copy a plain clusterctl move takes.
const (
	Namespace      = "metal3"
	PlainNamespace = "metal3-plain"
)

// The size of each workload cluster: every host goes through a real
// Ironic on a 2-core machine, so it is kept small. The first worker's host
// is the one its user pauses.
const (
	ControlPlane = 1
	Workers      = 2
	SpareHosts   = 1
)

// UserPause is the value of the pause annotation the user puts on one
// consumed host of each copy before the moves (anything but CAPM3's value).
const UserPause = "maintenance"

// buildTimeout bounds step 3 (every host registered, then deployed, by the
// bootstrap's Ironic). settleTimeout bounds the wait for the target's hosts
// after pivotcheck move (its --wait-for-hosts has already waited for their
// adoption); plainTimeout the wait after the plain move, long enough for
// the target's Ironic to register the status-less host again and start
// deploying it on a busy 2-core machine.
const (
	buildTimeout  = 8 * time.Minute
	settleTimeout = 3 * time.Minute
	plainTimeout  = 5 * time.Minute
)

// Options say where the demo finds what it runs.
type Options struct {
	Repo       string // repository root
	Pivotcheck string // pivotcheck binary
	Kustomize  string // standalone kustomize binary
	Clusterctl string // standalone clusterctl binary
	Out        io.Writer
}

// Result holds the story's key facts, so the test can assert them.
type Result struct {
	// LabelsAdded maps a CRD name to the labels the KRM function added.
	LabelsAdded map[string][]string
	// PreflightOutput is `pivotcheck preflight`'s table before the fixes.
	PreflightOutput string
	// PreflightExit is its exit code (1: not ready).
	PreflightExit int
	// Denial is the webhook's answer to the early pause.
	Denial string
	// RefusedOutput and RefusedExit are `pivotcheck move`'s answer while
	// PausedHost is still paused by the user.
	RefusedOutput string
	RefusedExit   int
	// MoveOutput is `pivotcheck move`'s output.
	MoveOutput string
	// Hosts is the number of hosts of each workload cluster.
	Hosts int
	// PausedHost is the consumed host the user paused in both copies.
	PausedHost string
	// PlainReports and Reports are what happened to each host from the
	// start of the plain clusterctl move and of pivotcheck move until the
	// end of the wait after it.
	PlainReports, Reports scenario.HostReports
	// PlainDisturbed and Disturbed are the hosts disturbed in the target
	// (BMC writes, Ironic node states off the adoption path, BMO state
	// changes) after each move.
	PlainDisturbed, Disturbed []string
	// Journeys are the BMO states each host passed through in the target.
	PlainJourneys, Journeys []string
	// PlainWrites and Writes count the BMC writes both Ironics made to the
	// copy's hosts in that window; PlainSourceWrites those of the
	// bootstrap's Ironic (still running) after the plain move began.
	PlainWrites, Writes, PlainSourceWrites int
	// Source and Target count the namespace's objects per kind after the move.
	Source, Target           map[string]int
	Before                   map[string]int
	SourceTotal, TargetTotal int
	// Processes are the processes the demo started (seen at several points
	// of the story); Leftover those still running when Run returned.
	Processes, Leftover []Proc
	// Summary is the two closing lines.
	Summary string
}

// Run tells the whole story. Every process, API server, controller and
// webhook it starts is stopped before it returns, on success and on
// failure, and Run checks that each process it saw is gone. It ends with
// the two summary lines, and fails when pivotcheck disturbed a host or let
// an Ironic write to a BMC, or when the plain move disturbed nothing (the
// user-paused host makes that certain: the harness would be broken).
func Run(ctx context.Context, o Options) (res *Result, err error) {
	begin := time.Now()
	res = &Result{LabelsAdded: map[string][]string{}}
	procs := procSet{}
	t := &timer{w: o.Out}
	err = story(ctx, o, res, procs, t)
	res.Processes = procs.list()
	res.Leftover = procs.waitGone(30 * time.Second)
	if len(res.Leftover) > 0 {
		err = errors.Join(err, fmt.Errorf("still running after the demo stopped everything: %v", res.Leftover))
	}
	if err != nil {
		return res, err
	}
	w := o.Out
	fmt.Fprintf(w, "\nDemo finished in %s (%s).\nEvery one of the %d processes it started has exited: %s.\n",
		time.Since(begin).Round(time.Second), t.summary(), len(res.Processes), procs.byName())
	res.Summary = fmt.Sprintf("hosts disturbed in the target: clusterctl move alone %d of %d, pivotcheck move %d of %d\n"+
		"BMC writes by Ironic during and after the move: clusterctl move alone %d, pivotcheck move %d",
		len(res.PlainDisturbed), res.Hosts, len(res.Disturbed), res.Hosts, res.PlainWrites, res.Writes)
	fmt.Fprintf(w, "\n%s\n", res.Summary)
	var errs []error
	if len(res.Disturbed) > 0 {
		errs = append(errs, fmt.Errorf("pivotcheck move disturbed %s", strings.Join(res.Disturbed, ", ")))
	}
	if res.Writes > 0 {
		errs = append(errs, fmt.Errorf("an Ironic wrote %d time(s) to the BMCs of hosts pivotcheck moved", res.Writes))
	}
	if len(res.PlainDisturbed) == 0 || res.PlainWrites == 0 {
		errs = append(errs, fmt.Errorf("the plain move disturbed %d host(s) with %d BMC write(s), yet %s went without its status: the lab did not show what it must",
			len(res.PlainDisturbed), res.PlainWrites, res.PausedHost))
	}
	return res, errors.Join(errs...)
}

// teller tells the story: what the steps share, and what stops when the
// story ends.
type teller struct {
	ctx   context.Context
	o     Options
	res   *Result
	procs procSet
	t     *timer
	// repo and pc are the repository root and the pivotcheck binary; home
	// is clusterctl's private HOME, env the environment commands run with.
	repo, pc, home string
	env            []string

	pair                 *scenario.IronicPair
	src, dst             *testenv.Cluster
	srcIronic, dstIronic string
	// labelled are the CRDs step 2 rendered with clusterctl's labels.
	labelled []*apiextensionsv1.CustomResourceDefinition

	stops []func(failed bool) error
}

// onStop registers what to stop when the story ends, last started first.
func (s *teller) onStop(f func(failed bool) error) { s.stops = append(s.stops, f) }

// story runs the steps in order; everything they started is stopped before
// it returns.
func story(ctx context.Context, o Options, res *Result, procs procSet, t *timer) (err error) {
	s := &teller{ctx: ctx, o: o, res: res, procs: procs, t: t}
	if s.repo, err = filepath.Abs(o.Repo); err != nil {
		return fmt.Errorf("repository root: %w", err)
	}
	if s.pc, err = filepath.Abs(o.Pivotcheck); err != nil {
		return fmt.Errorf("pivotcheck binary: %w", err)
	}
	if _, err := os.Stat(s.pc); err != nil {
		return fmt.Errorf("pivotcheck binary (run `make build`): %w", err)
	}
	// controller-runtime warns loudly when no logger is set; the demo's
	// output is the story, not library logs.
	ctrl.SetLogger(logr.Discard())

	// clusterctl writes its config under HOME: the demo gets a private one,
	// with the binary and module caches pinned first (no rebuild, works offline).
	home, restore, err := testenv.PrivateHome("pivotcheck-demo-home-")
	if err != nil {
		return err
	}
	defer restore()
	s.home, s.env = home, os.Environ()
	defer func() {
		for _, stop := range slices.Backward(s.stops) {
			err = errors.Join(err, stop(err != nil))
		}
	}()

	steps := []struct {
		title string
		run   func() error
	}{
		{"start the lab: a bootstrap and a target cluster, each with its own real Ironic; one set of emulated BMCs", s.startLab},
		{"render the bootstrap's manifests through the KRM function (`kustomize build --enable-alpha-plugins --enable-exec`)", s.renderManifests},
		{"the controllers build two identical workload clusters on the bootstrap", s.buildClusters},
		{"`pivotcheck preflight` checks both clusters, read-only", s.preflight},
		{"the pivotcheck admission webhook refuses an early `clusterctl move`", s.earlyMove},
		{"fix what must be fixed by hand", s.fixByHand},
		{"without pivotcheck: the copy in " + PlainNamespace + " moved with plain `clusterctl move`", s.plainMove},
		{"with pivotcheck: `pivotcheck move` of " + Namespace + ", with progress (the webhook is still watching)", s.pivotcheckMove},
		{"object counts on both sides", s.countObjects},
	}
	for i, st := range steps {
		t.step(i+1, st.title)
		if err := st.run(); err != nil {
			return err
		}
	}
	t.end()
	return nil
}

// startLab starts the two clusters of the lab, each with its own Ironic.
func (s *teller) startLab() error {
	ctx, w, procs, repo := s.ctx, s.o.Out, s.procs, s.repo
	fmt.Fprintln(w, "  On each side: kube-apiserver + etcd, kube-controller-manager, kube-scheduler and kwok (a fake node that")
	fmt.Fprintf(w, "  runs pods), the baremetal-operator %s (not in test mode) driving that side's own Ironic %s (a local\n", lab.BMOVersion, lab.IronicVersion)
	fmt.Fprintf(w, "  process that runs while the side's Ironic Deployment has a running pod), CAPM3 and IPAM %s with their webhooks.\n", lab.CAPM3Version)
	fmt.Fprintf(w, "  Shared by both sides, as the same machines would be: sushy-tools %s emulating a Redfish BMC per host, an\n", lab.SushyToolsVersion)
	fmt.Fprintln(w, "  agent stand-in that answers for the deploy ramdisk (ironic-python-agent) when a host boots it, and an image")
	fmt.Fprintln(w, "  server on loopback. On the bootstrap, BMO's CRDs (metal3.io) lack the clusterctl labels: BMO is installed")
	fmt.Fprintln(w, "  with kustomize, not clusterctl, so `clusterctl move` would skip every BareMetalHost.")
	t0 := time.Now()
	pair, err := scenario.StartIronicPair(ctx,
		testenv.Options{LabelCRD: labelExceptBMO, WebhookPaths: []string{filepath.Join(repo, "config", "webhook", "manifests.yaml")}},
		testenv.Options{})
	if err != nil {
		return fmt.Errorf("starting the lab: %w", err)
	}
	s.pair = pair
	s.onStop(func(failed bool) error {
		procs.snapshot()
		if failed {
			pair.Bootstrap.Lab.Keep()
			pair.Target.Lab.Keep()
		}
		return pair.Stop()
	})
	procs.snapshot()
	s.src, s.dst = pair.Bootstrap, pair.Target
	s.srcIronic, s.dstIronic = s.src.Lab.IronicName(), s.dst.Lab.IronicName()
	src, dst := s.src, s.dst
	fmt.Fprintf(w, "  bootstrap: %s, its Ironic %s\n  target:    %s, its Ironic %s\n  BMCs:      %s\n  (ready in %s)\n",
		src.Config.Host, src.Lab.IronicURL(), dst.Config.Host, dst.Lab.IronicURL(), pair.BMC.URL, time.Since(t0).Round(time.Second))
	return nil
}

// renderManifests renders the bootstrap's manifests through the KRM function.
func (s *teller) renderManifests() error {
	ctx, o, res, repo, pc, env, src := s.ctx, s.o, s.res, s.repo, s.pc, s.env, s.src
	var err error
	s.labelled, err = render(ctx, o, repo, pc, src.Client, res, env)
	if err != nil {
		return err
	}
	return nil
}

// buildClusters has the controllers build the two identical workload clusters, and pauses one host as its user would.
func (s *teller) buildClusters() error {
	ctx, w, res, procs, pair, src, dst, srcIronic := s.ctx, s.o.Out, s.res, s.procs, s.pair, s.src, s.dst, s.srcIronic
	fmt.Fprintln(w, "  As a user does it: BMC Secrets and BareMetalHosts (each on an emulated BMC, inspection disabled with its")
	fmt.Fprintln(w, "  hardware details given, automated cleaning off), which BMO registers in the bootstrap's Ironic; then the")
	fmt.Fprintln(w, "  Cluster API objects, for which CAPM3 picks each host and BMO has Ironic deploy the loopback disk image on it.")
	opts := func(ns string, orphan bool) fixture.Options {
		return fixture.Options{Namespace: ns, ClusterName: "test1", ControlPlane: ControlPlane, Workers: Workers, SpareHosts: SpareHosts,
			Hardware: pair.Hardware(), Faults: fixture.Faults{OrphanUserDataSecret: orphan}}
	}
	t0 := time.Now()
	rec, err := scenario.Record(ctx, src.Config, Namespace)
	if err != nil {
		return err
	}
	var built *fixture.Result
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		built, err = fixture.LabBuild(gctx, src.Client, opts(Namespace, true), buildTimeout)
		return err
	})
	g.Go(func() error {
		_, err := fixture.LabBuild(gctx, src.Client, opts(PlainNamespace, false), buildTimeout)
		return err
	})
	err = g.Wait()
	_ = rec.Stop()
	procs.snapshot()
	if err != nil {
		return fmt.Errorf("building the workload clusters: %w", err)
	}
	res.Hosts = len(built.Hosts)
	fmt.Fprintf(w, "  %s/test1 and %s/test1: %d control-plane + %d worker machines each, %d BareMetalHosts with %d spare(s) (built in %s).\n",
		Namespace, PlainNamespace, ControlPlane, Workers, res.Hosts, SpareHosts, time.Since(t0).Round(time.Second))
	fmt.Fprintf(w, "  What BMO did to the hosts of %s:\n", Namespace)
	for _, j := range scenario.Journeys(rec.States()) {
		fmt.Fprintf(w, "    %s\n", j)
	}
	fmt.Fprintf(w, "  BMC writes by the bootstrap's Ironic so far, both copies: %s.\n", describeWrites(pair.BMC.Recorder.Writes(lab.By(srcIronic, ""))))
	// The deterministic hazard: a consumed host paused by its user. CAPM3
	// (≤ 1.13) writes the status annotation only on hosts it pauses itself.
	res.PausedHost = fixture.HostName(opts(Namespace, false), ControlPlane)
	fmt.Fprintf(w, "  Before any move, the user pauses %s (a worker node of test1) in both copies for maintenance:\n", res.PausedHost)
	fmt.Fprintf(w, "  annotation %s=%q. This makes sure one consumed host goes without its status in a plain move.\n", bmov1alpha1.PausedAnnotation, UserPause)
	for _, ns := range []string{Namespace, PlainNamespace} {
		if err := setPause(ctx, src.Client, ns, res.PausedHost, UserPause); err != nil {
			return err
		}
	}
	res.Before = countKinds(ctx, dst.Client, src.Client, Namespace)
	fmt.Fprintf(w, "  %d objects in %s. Problems a real pivot meets:\n", total(res.Before), Namespace)
	fmt.Fprintln(w, "   - Ironic still runs on the bootstrap (its process serves the bootstrap's Ironic Deployment);")
	fmt.Fprintf(w, "   - Secret %s (a host's user-data) has no owner, so `clusterctl move` would leave it behind;\n", fixture.OrphanSecretName)
	fmt.Fprintln(w, "   - BMO's CRDs on the bootstrap lack the clusterctl labels (step 1);")
	fmt.Fprintf(w, "   - %s is paused by its user.\n", res.PausedHost)
	return nil
}

// preflight runs `pivotcheck preflight`, which must find the cluster not ready.
func (s *teller) preflight() error {
	ctx, w, res, pc, env, src, dst := s.ctx, s.o.Out, s.res, s.pc, s.env, s.src, s.dst
	pfArgs := []string{"preflight", "--kubeconfig", src.Kubeconfig, "--kubeconfig-context", src.Context,
		"--to-kubeconfig", dst.Kubeconfig, "--to-kubeconfig-context", dst.Context, "-n", Namespace}
	fmt.Fprintf(w, "  $ pivotcheck %s\n", strings.Join(short(pfArgs), " "))
	var err error
	res.PreflightOutput, res.PreflightExit, err = runCmd(ctx, env, pc, pfArgs...)
	if err != nil {
		return err
	}
	fmt.Fprint(w, indent(hideLogs(res.PreflightOutput)))
	fmt.Fprintf(w, "  exit code %d: not ready, nothing was touched.\n", res.PreflightExit)
	if res.PreflightExit != 1 {
		return fmt.Errorf("preflight exited %d before the fixes, want 1 (not ready)", res.PreflightExit)
	}
	return nil
}

// earlyMove shows the webhook refusing an early `clusterctl move` pause.
func (s *teller) earlyMove() error {
	ctx, w, res, src := s.ctx, s.o.Out, s.res, s.src
	fmt.Fprintln(w, "  Someone skips preflight and runs `clusterctl move`. Its first write pauses the Cluster;")
	fmt.Fprintln(w, "  the webhook (running here in-process, registered in the bootstrap) judges that pause. A server-side")
	fmt.Fprintln(w, "  dry-run of exactly that patch shows the answer clusterctl gets:")
	stopWebhook, err := startWebhook(ctx, src)
	if err != nil {
		return err
	}
	s.onStop(func(bool) error { return stopWebhook() })
	perr := src.Client.Patch(ctx, clusterObj(Namespace, "test1"),
		client.RawPatch(types.MergePatchType, []byte(`{"spec":{"paused":true}}`)), client.DryRunAll)
	if perr == nil {
		return errors.New("the webhook allowed the early pause")
	}
	res.Denial = perr.Error()
	fmt.Fprint(w, indent(wrap(res.Denial, 110)))
	return nil
}

// fixByHand applies the fixes a user makes by hand.
func (s *teller) fixByHand() error {
	ctx, w, src, labelled := s.ctx, s.o.Out, s.src, s.labelled
	if err := applyLabels(ctx, src.Client, labelled); err != nil {
		return err
	}
	fmt.Fprintf(w, "  - the labelled CRDs from step 2 applied to the bootstrap (%d CRDs);\n", len(labelled))
	fmt.Fprintf(w, "  - the orphaned Secret gets its host as owner: `pivotcheck move --fix-owners` does it;\n")
	fmt.Fprintln(w, "  - Ironic on the bootstrap: `pivotcheck move` hands it over (deletes its Deployment, waits for its pods to go).")
	return nil
}

// plainMove moves one copy with plain `clusterctl move` and records what happened to its hosts.
func (s *teller) plainMove() error {
	ctx, o, w, res, procs, env, pair, src, dst, srcIronic, dstIronic := s.ctx, s.o, s.o.Out, s.res, s.procs, s.env, s.pair, s.src, s.dst, s.srcIronic, s.dstIronic
	fmt.Fprintln(w, "  The user bypasses the webhook for that namespace, leaves the bootstrap's Ironic running (nothing tells")
	fmt.Fprintf(w, "  them to stop it), runs clusterctl alone and, once it returned, ends the maintenance of %s in the target.\n", res.PausedHost)
	if err := bypass(ctx, src.Client, PlainNamespace); err != nil {
		return err
	}
	beforePlain, err := scenario.HostStates(ctx, src.Client, PlainNamespace)
	if err != nil {
		return err
	}
	ccArgs := []string{"move", "--kubeconfig", src.Kubeconfig, "--kubeconfig-context", src.Context,
		"--to-kubeconfig", dst.Kubeconfig, "--to-kubeconfig-context", dst.Context, "-n", PlainNamespace}
	fmt.Fprintf(w, "  $ clusterctl %s\n", strings.Join(short(ccArgs), " "))
	plain, err := watchMove(ctx, pair, PlainNamespace)
	if err != nil {
		return err
	}
	out, code, err := runCmd(ctx, env, o.Clusterctl, ccArgs...)
	if err == nil && code != 0 {
		err = fmt.Errorf("clusterctl move exited %d:\n%s", code, out)
	}
	if err != nil {
		return errors.Join(err, plain.stop())
	}
	plain.moved = time.Now()
	fmt.Fprintf(w, "  clusterctl move returned after %s.\n", plain.moved.Sub(plain.start).Round(time.Second))
	// How each host arrived in the target, as its first copy there showed:
	// CAPM3 writes its pause and the status annotation in one patch.
	fmt.Fprintf(w, "  How the hosts arrived in the target: %s.\n", arrivals(plain.target.Pauses()))
	arrived := plain.target.Last()[res.PausedHost]
	if arrived == nil {
		return errors.Join(fmt.Errorf("%s/%s is not in the target after clusterctl move", PlainNamespace, res.PausedHost), plain.stop())
	}
	if v := plain.target.Pauses()[res.PausedHost]; len(v) > 0 && v[0] == UserPause {
		_, hasAnn := arrived.Annotations[bmov1alpha1.StatusAnnotation]
		fmt.Fprintf(w, "  %s is still paused by %q, %s, %s.\n", res.PausedHost, UserPause,
			yesNo(hasAnn, "with a status annotation", "without a status annotation"),
			yesNo(arrived.Status.LastUpdated != nil, "with its status", "without status"))
	}
	if err := setPause(ctx, dst.Client, PlainNamespace, res.PausedHost, ""); err != nil {
		return errors.Join(err, plain.stop())
	}
	fmt.Fprintf(w, "  The user removes the pause of %s in the target. Waiting (at most %s) until an Ironic writes to its BMC\n", res.PausedHost, plainTimeout)
	fmt.Fprintln(w, "  and every other host is back in its pre-move state, unpaused...")
	others := maps.Clone(beforePlain)
	delete(others, res.PausedHost)
	waited := plain.wait(ctx, plainTimeout, func(r scenario.HostReports) (bool, string) {
		var why []string
		if n := len(hostWrites(r, res.PausedHost, "")); n == 0 {
			why = append(why, "no BMC write for "+res.PausedHost+" yet")
		}
		if ok, pending := scenario.Settled(others, plain.target.Last()); !ok {
			why = append(why, "not settled: "+pending)
		}
		return len(why) == 0, strings.Join(why, "; ")
	})
	srcRuns := src.Lab.IronicRuns()
	if err := plain.stop(); err != nil {
		return err
	}
	procs.snapshot()
	fmt.Fprintf(w, "  %s\n", waited)
	res.PlainReports = plain.report
	res.PlainDisturbed, res.PlainJourneys = res.PlainReports.Disturbed(), journeys(res.PlainReports)
	res.PlainWrites = len(allWrites(res.PlainReports, ""))
	res.PlainSourceWrites = len(allWrites(res.PlainReports, srcIronic))
	fmt.Fprintf(w, "  Each host, from the start of the move to the end of the wait (%s):\n", plain.window())
	printReports(w, res.PlainReports, srcIronic, dstIronic)
	fmt.Fprintf(w, "  %d of %d hosts disturbed; BMC writes: %d, of which %d by the bootstrap's Ironic, which %s.\n",
		len(res.PlainDisturbed), len(beforePlain), res.PlainWrites, res.PlainSourceWrites,
		yesNo(srcRuns, "still runs", "no longer runs"))
	return nil
}

// pivotcheckMove moves the other copy with `pivotcheck move`: refused while a host is paused by its user, then moved.
func (s *teller) pivotcheckMove() error {
	ctx, w, res, procs, pc, home, env, pair, src, dst, srcIronic, dstIronic := s.ctx, s.o.Out, s.res, s.procs, s.pc, s.home, s.env, s.pair, s.src, s.dst, s.srcIronic, s.dstIronic
	backup := filepath.Join(home, "backup")
	mvArgs := []string{"move", "--kubeconfig", src.Kubeconfig, "--kubeconfig-context", src.Context,
		"--to-kubeconfig", dst.Kubeconfig, "--to-kubeconfig-context", dst.Context, "-n", Namespace,
		"--fix-owners", "--wait-for-hosts", "--host-timeout", "3m", "--ironic-url", dst.Lab.IronicURL(), "--backup-dir", backup}
	fmt.Fprintf(w, "  %s is still paused by its user. The move is tried as is:\n", res.PausedHost)
	fmt.Fprintf(w, "  $ pivotcheck %s\n", strings.Join(short(mvArgs), " "))
	var err error
	res.RefusedOutput, res.RefusedExit, err = runCmd(ctx, env, pc, mvArgs...)
	if err != nil {
		return err
	}
	// Its phase table and warnings are step 8's second run's too; the
	// refusal is its FAILED line (the whole output is in Result).
	fmt.Fprint(w, indent(wrap(failedLine(res.RefusedOutput), 110)))
	if res.RefusedExit == 0 {
		return fmt.Errorf("pivotcheck move accepted %s, a consumed host paused by its user without a status annotation", res.PausedHost)
	}
	fmt.Fprintf(w, "  exit code %d. The user ends the maintenance of %s in the bootstrap, as the finding says, and moves again:\n", res.RefusedExit, res.PausedHost)
	if err := setPause(ctx, src.Client, Namespace, res.PausedHost, ""); err != nil {
		return err
	}
	before, err := scenario.HostStates(ctx, src.Client, Namespace)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  $ pivotcheck %s\n", strings.Join(short(mvArgs), " "))
	pv, err := watchMove(ctx, pair, Namespace)
	if err != nil {
		return err
	}
	out, code, err := runCmd(ctx, env, pc, mvArgs...)
	res.MoveOutput = out
	pv.moved = time.Now()
	if err != nil {
		return errors.Join(err, pv.stop())
	}
	fmt.Fprint(w, indent(hideLogs(out)))
	if code != 0 {
		return errors.Join(fmt.Errorf("pivotcheck move exited %d", code), pv.stop())
	}
	if stopped, ok := stoppedAfter(src.Lab.IronicEvents(), pv.start); ok {
		fmt.Fprintf(w, "  The bootstrap's Ironic process stopped %s after the move began (the hand-over deleted its Deployment; its pod went).\n",
			stopped.Sub(pv.start).Round(100*time.Millisecond))
	} else {
		fmt.Fprintf(w, "  The bootstrap's Ironic process %s.\n", yesNo(src.Lab.IronicRuns(), "still runs", "was not running when the move began"))
	}
	fmt.Fprintf(w, "  Waiting (at most %s) until every host is back in its pre-move state, unpaused...\n", settleTimeout)
	waited := pv.wait(ctx, settleTimeout, func(scenario.HostReports) (bool, string) {
		return scenario.Settled(before, pv.target.Last())
	})
	if err := pv.stop(); err != nil {
		return err
	}
	procs.snapshot()
	fmt.Fprintf(w, "  %s\n", waited)
	res.Reports = pv.report
	res.Disturbed, res.Journeys = res.Reports.Disturbed(), journeys(res.Reports)
	res.Writes = len(allWrites(res.Reports, ""))
	fmt.Fprintf(w, "  Each host, from the start of the move to the end of the wait (%s):\n", pv.window())
	printReports(w, res.Reports, srcIronic, dstIronic)
	fmt.Fprintf(w, "  %d of %d hosts disturbed; BMC writes: %d.\n", len(res.Disturbed), len(before), res.Writes)
	return nil
}

// countObjects counts the objects on both sides.
func (s *teller) countObjects() error {
	ctx, w, res, src, dst := s.ctx, s.o.Out, s.res, s.src, s.dst
	res.Source = countKinds(ctx, dst.Client, src.Client, Namespace)
	res.Target = countKinds(ctx, dst.Client, dst.Client, Namespace)
	res.SourceTotal, res.TargetTotal = total(res.Source), total(res.Target)
	kinds := slices.Sorted(maps.Keys(res.Before))
	fmt.Fprintf(w, "  %-24s %8s %10s %8s\n", "KIND (ns "+Namespace+")", "BEFORE", "BOOTSTRAP", "TARGET")
	for _, k := range kinds {
		fmt.Fprintf(w, "  %-24s %8d %10d %8d\n", k, res.Before[k], res.Source[k], res.Target[k])
	}
	fmt.Fprintf(w, "  %-24s %8d %10d %8d\n", "total", total(res.Before), res.SourceTotal, res.TargetTotal)
	if res.SourceTotal != 0 || res.TargetTotal != total(res.Before) {
		return fmt.Errorf("counts do not match: %d before, %d left on the bootstrap, %d on the target",
			total(res.Before), res.SourceTotal, res.TargetTotal)
	}
	fmt.Fprintln(w, "  Everything moved; nothing was left behind.")
	return nil
}

// moveWatch follows one namespace through a move: the IronicPair's host
// watch (BMO journeys, BMC writes per Ironic, the target Ironic's nodes)
// and the target's BareMetalHosts (how each arrived, when each settled).
type moveWatch struct {
	hosts        *scenario.HostWatch
	target       *scenario.Recorder
	start, moved time.Time
	end          time.Time
	report       scenario.HostReports
	stopped      bool
}

func watchMove(ctx context.Context, p *scenario.IronicPair, ns string) (*moveWatch, error) {
	dst, err := scenario.Record(ctx, p.Target.Config, ns)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	hw, err := p.Watch(ctx, ns)
	if err != nil {
		return nil, errors.Join(err, dst.Stop())
	}
	return &moveWatch{hosts: hw, target: dst, start: start}, nil
}

// wait polls done with the latest report until it holds or timeout passes,
// and says in one sentence what it waited for and how that ended.
func (m *moveWatch) wait(ctx context.Context, timeout time.Duration, done func(scenario.HostReports) (bool, string)) string {
	from := time.Now()
	deadline := from.Add(timeout)
	for {
		ok, why := done(m.hosts.Report())
		switch {
		case ok:
			return fmt.Sprintf("Done %s after the move returned.", time.Since(m.moved).Round(time.Second))
		case time.Now().After(deadline) || ctx.Err() != nil:
			return fmt.Sprintf("Stopped waiting after %s: %s.", timeout, why)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// stop ends every watch and keeps the final report.
func (m *moveWatch) stop() error {
	if m.stopped {
		return nil
	}
	m.stopped = true
	m.end = time.Now()
	// Stop first: it adds the target Ironic's ERROR history to the record.
	err := errors.Join(m.hosts.Stop(), m.target.Stop())
	m.report = m.hosts.Report()
	return err
}

func (m *moveWatch) window() string {
	return fmt.Sprintf("%s: the move %s, the wait %s", m.end.Sub(m.start).Round(time.Second),
		m.moved.Sub(m.start).Round(time.Second), m.end.Sub(m.moved).Round(time.Second))
}

// arrivals says, per host, the pause it had when first seen in the target.
func arrivals(pauses map[string][]string) string {
	var out []string
	for _, host := range slices.Sorted(maps.Keys(pauses)) {
		first := pauses[host][0]
		switch first {
		case hostsafety.CAPM3PauseValue:
			first = "paused by CAPM3 (" + first + ")"
		case scenario.NotPaused:
			first = "not paused"
		default:
			first = fmt.Sprintf("paused by %q", first)
		}
		out = append(out, host+" "+first)
	}
	return orNone(out)
}

// setPause sets (value != "") or removes the pause annotation of a host,
// as a user does with kubectl annotate.
func setPause(ctx context.Context, c client.Client, ns, host, value string) error {
	v := "null"
	if value != "" {
		v = fmt.Sprintf("%q", value)
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%s}}}`, bmov1alpha1.PausedAnnotation, v)
	h := &bmov1alpha1.BareMetalHost{}
	h.Namespace, h.Name = ns, host
	if err := c.Patch(ctx, h, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return fmt.Errorf("pausing BareMetalHost %s/%s (%q): %w", ns, host, value, err)
	}
	return nil
}

// realWrites drops Redfish logins and logouts, which change no server.
func realWrites(ws []lab.BMCWrite) []lab.BMCWrite {
	return slices.DeleteFunc(slices.Clone(ws), func(w lab.BMCWrite) bool { return w.Kind == lab.BMCSession })
}

// hostWrites returns one host's BMC writes by ironic ("" for both).
func hostWrites(r scenario.HostReports, host, ironic string) []lab.BMCWrite {
	var out []lab.BMCWrite
	for _, h := range r {
		if h.Host != host {
			continue
		}
		for name, ws := range h.Writes {
			if ironic == "" || name == ironic {
				out = append(out, realWrites(ws)...)
			}
		}
	}
	return out
}

// allWrites returns every host's BMC writes by ironic ("" for both).
func allWrites(r scenario.HostReports, ironic string) []lab.BMCWrite {
	var out []lab.BMCWrite
	for _, h := range r {
		out = append(out, hostWrites(r, h.Host, ironic)...)
	}
	return out
}

// describeWrites says "0" or "5 (power ×2, boot ×1, ...)".
func describeWrites(ws []lab.BMCWrite) string {
	ws = realWrites(ws)
	if len(ws) == 0 {
		return "0"
	}
	n := map[string]int{}
	for _, w := range ws {
		n[w.Kind]++
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, n[k]))
	}
	return fmt.Sprintf("%d (%s)", len(ws), strings.Join(parts, ", "))
}

// journeys renders each host's BMO states in the target, "host: a → b".
func journeys(r scenario.HostReports) []string {
	out := make([]string, 0, len(r))
	for _, h := range r {
		out = append(out, h.Host+": "+journey(h.Journey))
	}
	slices.Sort(out)
	return out
}

func journey(states []string) string {
	if len(states) == 0 {
		return "(not seen)"
	}
	parts := make([]string, len(states))
	for i, s := range states {
		parts[i] = s
		if s == "" {
			parts[i] = "(no status)"
		}
	}
	return strings.Join(parts, " → ")
}

// printReports prints, per host, its role, what the target's BMO did and
// the BMC writes of each Ironic.
func printReports(w io.Writer, r scenario.HostReports, srcIronic, dstIronic string) {
	hosts := slices.Clone(r)
	slices.SortFunc(hosts, func(a, b scenario.HostReport) int { return strings.Compare(a.Host, b.Host) })
	for _, h := range hosts {
		mark := " "
		if h.Disturbed {
			mark = "✖"
		}
		fmt.Fprintf(w, "  %s %-13s %-14s target BMO: %s\n", mark, h.Host, h.Role, journey(h.Journey))
		fmt.Fprintf(w, "    %-28s BMC writes: bootstrap's Ironic %s; target's Ironic %s\n", "",
			describeWrites(h.Writes[srcIronic]), describeWrites(h.Writes[dstIronic]))
		if len(h.NodeStates) > 0 {
			fmt.Fprintf(w, "    %-28s target Ironic node: %s\n", "", strings.Join(h.NodeStates, " → "))
		}
	}
}

// stoppedAfter returns the first stop of an Ironic process after t.
func stoppedAfter(events []lab.IronicLifecycle, t time.Time) (time.Time, bool) {
	for _, e := range events {
		if !e.Started && !e.Time.Before(t) {
			return e.Time, true
		}
	}
	return time.Time{}, false
}

// failedLine is the line of pivotcheck move's report that says why it
// failed (the whole output when there is none).
func failedLine(out string) string {
	for l := range strings.SplitSeq(out, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "FAILED in phase") {
			return l
		}
	}
	return hideLogs(out)
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// timer prints the numbered step headings and keeps how long each took.
type timer struct {
	w     io.Writer
	n     []int
	began []time.Time
	took  []time.Duration
}

func (t *timer) step(n int, title string) {
	t.end()
	t.n = append(t.n, n)
	t.began = append(t.began, time.Now())
	step(t.w, n, title)
}

// end closes the running step.
func (t *timer) end() {
	if len(t.took) < len(t.began) {
		t.took = append(t.took, time.Since(t.began[len(t.began)-1]))
	}
}

func (t *timer) summary() string {
	parts := make([]string, len(t.took))
	for i, d := range t.took {
		parts[i] = fmt.Sprintf("step %d %s", t.n[i], d.Round(time.Second))
	}
	return strings.Join(parts, ", ")
}

// labelExceptBMO is the bootstrap's starting state: CAPI/CAPM3 CRDs labelled
// by clusterctl init, BMO's CRDs (installed with kustomize) not labelled.
func labelExceptBMO(crd *apiextensionsv1.CustomResourceDefinition) {
	if crd.Spec.Group == "metal3.io" {
		return
	}
	testenv.LabelLikeClusterctl(crd)
}

// render copies the kustomize sample, swaps its trimmed CRDs for the
// bootstrap's real BMO CRDs, points the exec transformer at the binary and
// builds it; it prints the labels the function added and returns the
// labelled CRDs.
func render(ctx context.Context, o Options, repo, pc string, c client.Client, res *Result, env []string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	w := o.Out
	dir, err := os.MkdirTemp("", "pivotcheck-demo-kustomize-")
	if err != nil {
		return nil, fmt.Errorf("kustomize folder: %w", err)
	}
	defer os.RemoveAll(dir)
	sample := filepath.Join(repo, "examples", "pivot-prep-kustomize")
	for _, f := range []string{"kustomization.yaml", "ironic.yaml", "cluster.yaml", "pivot-prep.yaml"} {
		data, err := os.ReadFile(filepath.Join(sample, f))
		if err != nil {
			return nil, fmt.Errorf("reading the kustomize sample: %w", err)
		}
		if f == "pivot-prep.yaml" {
			data = bytes.Replace(data, []byte("path: ../../bin/pivotcheck"), []byte("path: "+pc), 1)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			return nil, fmt.Errorf("writing the kustomize sample: %w", err)
		}
	}
	var crds apiextensionsv1.CustomResourceDefinitionList
	if err := c.List(ctx, &crds); err != nil {
		return nil, fmt.Errorf("listing CRDs: %w", err)
	}
	before := map[string]map[string]string{}
	var buf bytes.Buffer
	for i := range crds.Items {
		crd := &crds.Items[i]
		if crd.Spec.Group != "metal3.io" {
			continue
		}
		// Export it as the manifest BMO's kustomization would have applied.
		exp := &apiextensionsv1.CustomResourceDefinition{TypeMeta: crd.TypeMeta, Spec: crd.Spec}
		exp.APIVersion, exp.Kind = "apiextensions.k8s.io/v1", "CustomResourceDefinition"
		exp.Name, exp.Labels = crd.Name, crd.Labels
		data, err := sigsyaml.Marshal(exp)
		if err != nil {
			return nil, fmt.Errorf("encoding CRD %s: %w", crd.Name, err)
		}
		buf.WriteString("---\n")
		buf.Write(data)
		before[crd.Name] = crd.Labels
	}
	if err := os.WriteFile(filepath.Join(dir, "crds.yaml"), buf.Bytes(), 0o600); err != nil {
		return nil, fmt.Errorf("writing CRDs: %w", err)
	}
	fmt.Fprintf(w, "  input: BMO's %d real CRDs from the bootstrap + examples/pivot-prep-kustomize (Ironic, a workload cluster)\n", len(before))
	fmt.Fprintln(w, "  $ kustomize build --enable-alpha-plugins --enable-exec .    # transformer: pivotcheck fn")
	cmd := exec.CommandContext(ctx, o.Kustomize, "build", "--enable-alpha-plugins", "--enable-exec", ".")
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("kustomize build (run `make tools`): %w\n%s", err, stderr.String())
	}
	var labelled []*apiextensionsv1.CustomResourceDefinition
	dec := yaml.NewYAMLOrJSONDecoder(&stdout, 4096)
	objects := 0
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("decoding kustomize output: %w", err)
		}
		if u.Object == nil {
			continue
		}
		objects++
		old, ok := before[u.GetName()]
		if u.GetKind() != "CustomResourceDefinition" || !ok {
			continue
		}
		var added []string
		for k, v := range u.GetLabels() {
			if _, had := old[k]; !had {
				added = append(added, fmt.Sprintf("%s=%q", k, v))
			}
		}
		slices.Sort(added)
		if len(added) > 0 {
			res.LabelsAdded[u.GetName()] = added
			crd := &apiextensionsv1.CustomResourceDefinition{}
			crd.Name, crd.Labels = u.GetName(), u.GetLabels()
			labelled = append(labelled, crd)
		}
	}
	fmt.Fprintf(w, "  %d objects rendered. What the function changed on the CRDs:\n", objects)
	for _, n := range slices.Sorted(maps.Keys(res.LabelsAdded)) {
		fmt.Fprintf(w, "    %-40s + %s\n", n, strings.Join(res.LabelsAdded[n], ", "))
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		fmt.Fprintln(w, "  and its warnings on the other manifests (kustomize shows them on stderr):")
		fmt.Fprint(w, indent(indent(s+"\n")))
	}
	fmt.Fprintln(w, "  These labelled CRDs are applied in step 6; first, let us see what preflight says without them.")
	if len(labelled) == 0 {
		return nil, errors.New("the KRM function added no label to BMO's CRDs")
	}
	return labelled, nil
}

// applyLabels merges the rendered labels into the live CRDs: only the labels
// differ, and a merge patch leaves the (large) schemas alone.
func applyLabels(ctx context.Context, c client.Client, crds []*apiextensionsv1.CustomResourceDefinition) error {
	for _, crd := range crds {
		patch, err := sigsyaml.Marshal(map[string]any{"metadata": map[string]any{"labels": crd.Labels}})
		if err != nil {
			return fmt.Errorf("label patch for %s: %w", crd.Name, err)
		}
		js, err := sigsyaml.YAMLToJSON(patch)
		if err != nil {
			return fmt.Errorf("label patch for %s: %w", crd.Name, err)
		}
		obj := &apiextensionsv1.CustomResourceDefinition{}
		obj.Name = crd.Name
		if err := c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, js)); err != nil {
			return fmt.Errorf("labelling CRD %s: %w", crd.Name, err)
		}
	}
	return nil
}

// startWebhook runs the real webhook manager (what `pivotcheck webhook`
// runs) on the host, port and certificate envtest registered for
// config/webhook/manifests.yaml, and returns its stop function.
func startWebhook(ctx context.Context, c *testenv.Cluster) (func() error, error) {
	wio := c.Env.WebhookInstallOptions
	mgr, h, err := webhook.NewManager(c.Config, webhook.Options{
		Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: wio.LocalServingCertDir, Log: logr.Discard(),
	})
	if err != nil {
		return nil, fmt.Errorf("webhook manager: %w", err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("webhook: %w", err)
			}
			return nil
		case <-time.After(30 * time.Second):
			return errors.New("webhook manager did not stop within 30s")
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for !h.Synced() {
		if time.Now().After(deadline) {
			return nil, errors.Join(errors.New("webhook cache did not sync within 30s"), stop())
		}
		select {
		case err := <-done:
			return nil, fmt.Errorf("webhook stopped while starting: %w", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	// Serving is checked by the first admission call: the dry-run pause
	// must come back denied by pivotcheck, not failing to connect.
	return stop, nil
}

func clusterObj(ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	u.SetKind("Cluster")
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// countKinds counts the objects of namespace ns in c, per kind of
// everything clusterctl considers: Secrets, and the kinds of every CRD that
// carries its label in kinds (the target, where every CRD is labelled;
// ConfigMaps are not part of this cluster).
func countKinds(ctx context.Context, kinds, c client.Client, ns string) map[string]int {
	out := map[string]int{}
	secrets := &corev1.SecretList{}
	if err := c.List(ctx, secrets, client.InNamespace(ns)); err == nil && len(secrets.Items) > 0 {
		out["Secret"] = len(secrets.Items)
	}
	crds := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := kinds.List(ctx, crds, client.HasLabels{"clusterctl.cluster.x-k8s.io"}); err != nil {
		return out
	}
	for _, crd := range crds.Items {
		if crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if !v.Storage {
				continue
			}
			l := &unstructured.UnstructuredList{}
			l.SetAPIVersion(crd.Spec.Group + "/" + v.Name)
			l.SetKind(crd.Spec.Names.Kind + "List")
			if err := c.List(ctx, l, client.InNamespace(ns)); err == nil && len(l.Items) > 0 {
				out[crd.Spec.Names.Kind] += len(l.Items)
			}
		}
	}
	return out
}

// bypass labels a namespace with the webhook's documented bypass, as a user
// who moves it with clusterctl alone would.
func bypass(ctx context.Context, c client.Client, ns string) error {
	obj := &corev1.Namespace{}
	obj.Name = ns
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:"moved-with-clusterctl-alone"}}}`, webhook.BypassNamespaceLabel)
	if err := c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return fmt.Errorf("labelling namespace %s: %w", ns, err)
	}
	return nil
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// runCmd runs pivotcheck as an operator would; a non-zero exit is a result
// (preflight's 1 means "not ready"), only a failure to run is an error.
func runCmd(ctx context.Context, env []string, bin string, args ...string) (string, int, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return string(out), ee.ExitCode(), nil
	}
	if err != nil {
		return string(out), -1, fmt.Errorf("running %s: %w", bin, err)
	}
	return string(out), 0, nil
}

// short replaces temporary kubeconfig paths by their base names so the
// printed command stays readable.
func short(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.HasSuffix(a, ".kubeconfig") || strings.Contains(a, "pivotcheck-demo-home-") {
			a = filepath.Base(a)
		}
		out[i] = a
	}
	return out
}

// hideLogs drops the structured log lines (clusterctl's own dry-run and
// move logs, on stderr) from what the demo prints: the story is pivotcheck's
// table and progress. They stay in Result for the test.
func hideLogs(s string) string {
	var b strings.Builder
	hidden := 0
	for _, l := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(l, `{"level":`) {
			hidden++
			continue
		}
		b.WriteString(l)
	}
	if hidden > 0 {
		fmt.Fprintf(&b, "(%d structured log lines of clusterctl hidden)\n", hidden)
	}
	return b.String()
}

func indent(s string) string {
	var b strings.Builder
	for l := range strings.SplitSeq(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// wrap breaks long admission messages at spaces so they read in a terminal.
func wrap(s string, width int) string {
	var b strings.Builder
	for para := range strings.SplitSeq(s, "\n") {
		line := 0
		for i, word := range strings.Fields(para) {
			if i > 0 && line+len(word)+1 > width {
				b.WriteString("\n")
				line = 0
			} else if i > 0 {
				b.WriteString(" ")
				line++
			}
			b.WriteString(word)
			line += len(word)
		}
		b.WriteString("\n")
	}
	return b.String()
}
