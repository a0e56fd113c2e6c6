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
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pivotcheck/pivotcheck/internal/fixture"
	"github.com/pivotcheck/pivotcheck/internal/scenario"
	"github.com/pivotcheck/pivotcheck/internal/testenv"
	"github.com/pivotcheck/pivotcheck/webhook"
)

// Namespaces of the two identical workload clusters: the one pivotcheck
// moves, and the copy a plain clusterctl move takes.
const (
	Namespace      = "metal3"
	PlainNamespace = "metal3-plain"
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
	// MoveOutput is `pivotcheck move`'s output.
	MoveOutput string
	// Hosts is the number of hosts of each workload cluster.
	Hosts int
	// PlainDisturbed and Disturbed are the hosts the target's BMO took out
	// of their pre-move state after a plain clusterctl move and after
	// pivotcheck move.
	PlainDisturbed, Disturbed []string
	// Journeys are the states each host passed through in the target.
	PlainJourneys, Journeys []string
	// Source and Target count the namespace's objects per kind after the move.
	Source, Target           map[string]int
	Before                   map[string]int
	SourceTotal, TargetTotal int
	// Summary is the last line.
	Summary string
}

// Run tells the whole story. Every API server, controller and webhook it
// starts is stopped before it returns, on success and on failure.
func Run(ctx context.Context, o Options) (res *Result, err error) {
	res = &Result{LabelsAdded: map[string][]string{}}
	w := o.Out
	repo, err := filepath.Abs(o.Repo)
	if err != nil {
		return nil, fmt.Errorf("repository root: %w", err)
	}
	pc, err := filepath.Abs(o.Pivotcheck)
	if err != nil {
		return nil, fmt.Errorf("pivotcheck binary: %w", err)
	}
	if _, err := os.Stat(pc); err != nil {
		return nil, fmt.Errorf("pivotcheck binary (run `make build`): %w", err)
	}
	// controller-runtime warns loudly when no logger is set; the demo's
	// output is the story, not library logs.
	ctrl.SetLogger(logr.Discard())

	// clusterctl writes its config under HOME: the demo gets a private one,
	// with the binary and module caches pinned first (no rebuild, works offline).
	home, restore, err := testenv.PrivateHome("pivotcheck-demo-home-")
	if err != nil {
		return nil, err
	}
	defer restore()
	env := os.Environ()

	// ── 1 ──────────────────────────────────────────────────────────────
	step(w, 1, "start the lab: a bootstrap and a target control plane, each with the real controllers")
	fmt.Fprintln(w, "  On each side: kube-apiserver + etcd, kube-controller-manager, kube-scheduler and kwok (a fake node that")
	fmt.Fprintln(w, "  runs pods), the baremetal-operator v0.13.2 in test mode (its fixture provisioner instead of Ironic's")
	fmt.Fprintln(w, "  BMCs), CAPM3 and IPAM v1.13.2, each with its webhooks. Ironic is a real Deployment on the fake node.")
	fmt.Fprintln(w, "  On the bootstrap, BMO's CRDs (metal3.io) lack the clusterctl labels: BMO is installed with kustomize,")
	fmt.Fprintln(w, "  not clusterctl, so `clusterctl move` would skip every BareMetalHost.")
	t0 := time.Now()
	pair, err := scenario.StartPair(ctx,
		testenv.Options{LabelCRD: labelExceptBMO, WebhookPaths: []string{filepath.Join(repo, "config", "webhook", "manifests.yaml")}},
		testenv.Options{})
	if err != nil {
		return nil, fmt.Errorf("starting the lab: %w", err)
	}
	defer func() {
		if err != nil {
			pair.Bootstrap.Lab.Keep()
			pair.Target.Lab.Keep()
		}
		if serr := pair.Stop(); serr != nil {
			err = errors.Join(err, serr)
		}
	}()
	src, dst := pair.Bootstrap, pair.Target
	fmt.Fprintf(w, "  bootstrap: %s\n  target:    %s\n  (both ready, Ironic Available on both, in %s)\n", src.Config.Host, dst.Config.Host, time.Since(t0).Round(time.Second))

	// ── 2 ──────────────────────────────────────────────────────────────
	step(w, 2, "render the bootstrap's manifests through the KRM function (`kustomize build --enable-alpha-plugins --enable-exec`)")
	labelled, err := render(ctx, o, repo, pc, src.Client, res, env)
	if err != nil {
		return res, err
	}

	// ── 3 ──────────────────────────────────────────────────────────────
	step(w, 3, "the controllers build two identical workload clusters on the bootstrap")
	fmt.Fprintln(w, "  As a user does it: BMC Secrets and BareMetalHosts, which BMO registers and inspects; then the Cluster API")
	fmt.Fprintln(w, "  objects, for which CAPM3 picks each host and renders its data, and BMO provisions it.")
	opts := func(ns string, orphan bool) fixture.Options {
		return fixture.Options{Namespace: ns, ClusterName: "test1", ControlPlane: 3, Workers: 2, SpareHosts: 2,
			Faults: fixture.Faults{OrphanUserDataSecret: orphan}}
	}
	t0 = time.Now()
	rec, err := scenario.Record(ctx, src.Config, Namespace)
	if err != nil {
		return res, err
	}
	var built *fixture.Result
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		built, err = fixture.LabBuild(gctx, src.Client, opts(Namespace, true), 3*time.Minute)
		return err
	})
	g.Go(func() error {
		_, err := fixture.LabBuild(gctx, src.Client, opts(PlainNamespace, false), 3*time.Minute)
		return err
	})
	err = g.Wait()
	_ = rec.Stop()
	if err != nil {
		return res, fmt.Errorf("building the workload clusters: %w", err)
	}
	res.Hosts = len(built.Hosts)
	fmt.Fprintf(w, "  %s/test1 and %s/test1: 3 control-plane + 2 worker machines each, %d BareMetalHosts with 2 spares (built in %s).\n",
		Namespace, PlainNamespace, res.Hosts, time.Since(t0).Round(time.Second))
	fmt.Fprintf(w, "  What BMO did to the hosts of %s:\n", Namespace)
	for _, j := range scenario.Journeys(rec.States()) {
		fmt.Fprintf(w, "    %s\n", j)
	}
	res.Before = countKinds(ctx, dst.Client, src.Client, Namespace)
	fmt.Fprintf(w, "  %d objects in %s. Problems a real pivot meets:\n", total(res.Before), Namespace)
	fmt.Fprintln(w, "   - Ironic still runs on the bootstrap (two Ironics would fight over the provisioning network after the move);")
	fmt.Fprintf(w, "   - Secret %s (a host's user-data) has no owner, so `clusterctl move` would leave it behind;\n", fixture.OrphanSecretName)
	fmt.Fprintln(w, "   - BMO's CRDs on the bootstrap lack the clusterctl labels (step 1).")

	// ── 4 ──────────────────────────────────────────────────────────────
	step(w, 4, "`pivotcheck preflight` checks both clusters, read-only")
	pfArgs := []string{"preflight", "--kubeconfig", src.Kubeconfig, "--kubeconfig-context", src.Context,
		"--to-kubeconfig", dst.Kubeconfig, "--to-kubeconfig-context", dst.Context, "-n", Namespace}
	fmt.Fprintf(w, "  $ pivotcheck %s\n", strings.Join(short(pfArgs), " "))
	res.PreflightOutput, res.PreflightExit, err = runCmd(ctx, env, pc, pfArgs...)
	if err != nil {
		return res, err
	}
	fmt.Fprint(w, indent(hideLogs(res.PreflightOutput)))
	fmt.Fprintf(w, "  exit code %d: not ready, nothing was touched.\n", res.PreflightExit)
	if res.PreflightExit != 1 {
		return res, fmt.Errorf("preflight exited %d before the fixes, want 1 (not ready)", res.PreflightExit)
	}

	// ── 5 ──────────────────────────────────────────────────────────────
	step(w, 5, "the pivotcheck admission webhook refuses an early `clusterctl move`")
	fmt.Fprintln(w, "  Someone skips preflight and runs `clusterctl move`. Its first write pauses the Cluster;")
	fmt.Fprintln(w, "  the webhook (running here in-process, registered in the bootstrap) judges that pause. A server-side")
	fmt.Fprintln(w, "  dry-run of exactly that patch shows the answer clusterctl gets:")
	stopWebhook, err := startWebhook(ctx, src)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, stopWebhook()) }()
	perr := src.Client.Patch(ctx, clusterObj(Namespace, "test1"),
		client.RawPatch(types.MergePatchType, []byte(`{"spec":{"paused":true}}`)), client.DryRunAll)
	if perr == nil {
		return res, errors.New("the webhook allowed the early pause")
	}
	res.Denial = perr.Error()
	fmt.Fprint(w, indent(wrap(res.Denial, 110)))

	// ── 6 ──────────────────────────────────────────────────────────────
	step(w, 6, "fix what must be fixed by hand")
	if err := applyLabels(ctx, src.Client, labelled); err != nil {
		return res, err
	}
	fmt.Fprintf(w, "  - the labelled CRDs from step 2 applied to the bootstrap (%d CRDs);\n", len(labelled))
	fmt.Fprintf(w, "  - the orphaned Secret gets its host as owner: `pivotcheck move --fix-owners` does it;\n")
	fmt.Fprintln(w, "  - Ironic on the bootstrap: `pivotcheck move` hands it over (deletes it, waits for its pods to go) before the move.")

	// ── 7 ──────────────────────────────────────────────────────────────
	step(w, 7, "without pivotcheck: the copy in "+PlainNamespace+" moved with plain `clusterctl move`")
	fmt.Fprintf(w, "  The user bypasses the webhook for that namespace and runs clusterctl alone. CAPM3 annotates the hosts it\n")
	fmt.Fprintln(w, "  consumes when the Cluster is paused (if it wins the race with clusterctl's copy); nobody annotates the others.")
	if err := bypass(ctx, src.Client, PlainNamespace); err != nil {
		return res, err
	}
	beforePlain, err := scenario.HostStates(ctx, src.Client, PlainNamespace)
	if err != nil {
		return res, err
	}
	ccArgs := []string{"move", "--kubeconfig", src.Kubeconfig, "--kubeconfig-context", src.Context,
		"--to-kubeconfig", dst.Kubeconfig, "--to-kubeconfig-context", dst.Context, "-n", PlainNamespace}
	fmt.Fprintf(w, "  $ clusterctl %s\n", strings.Join(short(ccArgs), " "))
	rec, err = scenario.Record(ctx, dst.Config, PlainNamespace)
	if err != nil {
		return res, err
	}
	out, code, err := runCmd(ctx, env, o.Clusterctl, ccArgs...)
	if err == nil && code != 0 {
		err = fmt.Errorf("clusterctl move exited %d:\n%s", code, out)
	}
	if err == nil {
		// Let the target's BMO and CAPM3 finish with the hosts: every host
		// back in its pre-move state, unpaused.
		err = scenario.WaitSettled(ctx, rec, beforePlain, 3*time.Minute)
	}
	serr := rec.Stop()
	if err = errors.Join(err, serr); err != nil {
		return res, err
	}
	res.PlainJourneys = scenario.Journeys(rec.States())
	res.PlainDisturbed = scenario.Disturbed(beforePlain, rec.States())
	fmt.Fprintln(w, "  What the target's BMO did to each host it received:")
	for _, j := range res.PlainJourneys {
		fmt.Fprintf(w, "    %s\n", j)
	}
	// Only what this run observed: BMO's state changes. BMO runs in test
	// mode in the demo, so no BMC was touched and nothing rebooted here.
	fmt.Fprintf(w, "  %d of %d hosts were registered, inspected or provisioned again by the target's BMO (its state changes above;\n", len(res.PlainDisturbed), len(beforePlain))
	fmt.Fprintln(w, "  BMO runs in test mode in this demo, so no BMC was written).")

	// ── 8 ──────────────────────────────────────────────────────────────
	step(w, 8, "with pivotcheck: `pivotcheck move` of "+Namespace+", with progress (the webhook is still watching)")
	before, err := scenario.HostStates(ctx, src.Client, Namespace)
	if err != nil {
		return res, err
	}
	backup := filepath.Join(home, "backup")
	mvArgs := []string{"move", "--kubeconfig", src.Kubeconfig, "--kubeconfig-context", src.Context,
		"--to-kubeconfig", dst.Kubeconfig, "--to-kubeconfig-context", dst.Context, "-n", Namespace,
		"--fix-owners", "--wait-for-hosts", "--host-timeout", "3m", "--backup-dir", backup}
	fmt.Fprintf(w, "  $ pivotcheck %s\n", strings.Join(short(mvArgs), " "))
	rec, err = scenario.Record(ctx, dst.Config, Namespace)
	if err != nil {
		return res, err
	}
	out, code, err = runCmd(ctx, env, pc, mvArgs...)
	res.MoveOutput = out
	serr = rec.Stop()
	if err = errors.Join(err, serr); err != nil {
		return res, err
	}
	fmt.Fprint(w, indent(hideLogs(out)))
	if code != 0 {
		return res, fmt.Errorf("pivotcheck move exited %d", code)
	}
	res.Journeys = scenario.Journeys(rec.States())
	res.Disturbed = scenario.Disturbed(before, rec.States())
	fmt.Fprintln(w, "  What the target's BMO did to each host it received:")
	for _, j := range res.Journeys {
		fmt.Fprintf(w, "    %s\n", j)
	}

	// ── 9 ──────────────────────────────────────────────────────────────
	step(w, 9, "object counts on both sides")
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
		return res, fmt.Errorf("counts do not match: %d before, %d left on the bootstrap, %d on the target",
			total(res.Before), res.SourceTotal, res.TargetTotal)
	}
	fmt.Fprintln(w, "  Everything moved; nothing was left behind; the bootstrap can be deleted.")
	res.Summary = fmt.Sprintf("hosts disturbed in the target: clusterctl move alone %d of %d, pivotcheck move %d of %d",
		len(res.PlainDisturbed), len(beforePlain), len(res.Disturbed), len(before))
	fmt.Fprintf(w, "\n%s\n", res.Summary)
	if len(res.Disturbed) > 0 {
		return res, fmt.Errorf("pivotcheck move disturbed %s", strings.Join(res.Disturbed, ", "))
	}
	return res, nil
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
