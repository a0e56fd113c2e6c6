package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-logr/logr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pivotcheck/pivotcheck/internal/fixture"
	"github.com/pivotcheck/pivotcheck/internal/testenv"
	"github.com/pivotcheck/pivotcheck/webhook"
)

// Namespace is where the demo's workload cluster lives.
const Namespace = "metal3"

// Options say where the demo finds what it runs.
type Options struct {
	Repo       string // repository root
	Pivotcheck string // pivotcheck binary
	Kustomize  string // standalone kustomize binary
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
	// Source and Target count the namespace's objects per kind after the move.
	Source, Target           map[string]int
	Before                   map[string]int
	SourceTotal, TargetTotal int
}

// Run tells the whole story. Every API server and the webhook it starts are
// stopped before it returns, on success and on failure.
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
	step(w, 1, "start two local control planes: the bootstrap (usually kind: where Metal3 was installed first) and the target (the new bare-metal cluster that will manage itself)")
	fmt.Fprintln(w, "  Both get the real CRDs of the Metal3 1.13 train. On the bootstrap, BMO's CRDs (metal3.io) lack the")
	fmt.Fprintln(w, "  clusterctl labels: BMO is installed with kustomize, not clusterctl, so `clusterctl move` would skip every BareMetalHost.")
	t0 := time.Now()
	pair, err := testenv.StartPair(ctx,
		testenv.Options{LabelCRD: labelExceptBMO, WebhookPaths: []string{filepath.Join(repo, "config", "webhook", "manifests.yaml")}},
		testenv.Options{LabelCRD: testenv.LabelLikeClusterctl})
	if err != nil {
		return nil, fmt.Errorf("starting the API servers: %w", err)
	}
	defer func() {
		if serr := pair.Stop(); serr != nil {
			err = errors.Join(err, serr)
		}
	}()
	src, dst := pair.Bootstrap, pair.Target
	fmt.Fprintf(w, "  bootstrap: %s\n  target:    %s\n  (started in %s)\n", src.Config.Host, dst.Config.Host, time.Since(t0).Round(time.Millisecond))

	// ── 2 ──────────────────────────────────────────────────────────────
	step(w, 2, "render the bootstrap's manifests through the KRM function (`kustomize build --enable-alpha-plugins --enable-exec`)")
	labelled, err := render(ctx, o, repo, pc, src.Client, res, env)
	if err != nil {
		return res, err
	}

	// ── 3 ──────────────────────────────────────────────────────────────
	step(w, 3, "create a realistic Metal3 workload cluster on the bootstrap, with the problems a real pivot meets")
	opts := fixture.Options{Namespace: Namespace, ControlPlane: 3, Workers: 2, Faults: fixture.Faults{
		HostState:            map[int]bmov1alpha1.ProvisioningState{0: bmov1alpha1.StateProvisioning},
		OrphanUserDataSecret: true,
	}}
	built, err := fixture.Build(ctx, src.Client, opts)
	if err != nil {
		return res, fmt.Errorf("building the workload cluster: %w", err)
	}
	for i, side := range []*testenv.Cluster{src, dst} {
		m := fixture.Management{Ironic: ptr.To(int32(1)), Keepalived: true, BMOVersion: fixture.BMODefaultVersion, Providers: fixture.CAPIProviders()}
		if err := fixture.InstallManagement(ctx, side.Client, m); err != nil {
			return res, fmt.Errorf("installing Metal3's management components on %s: %w", []string{"bootstrap", "target"}[i], err)
		}
	}
	if err := fixture.InstallBMOWebhook(ctx, dst.Client, admissionregistrationv1.Ignore); err != nil {
		return res, fmt.Errorf("BMO webhook on the target: %w", err)
	}
	// envtest runs no controllers: report the target's Ironic available, as
	// its Deployment controller would once the pods run.
	if err := markAvailable(ctx, dst.Client); err != nil {
		return res, err
	}
	res.Before = countKinds(ctx, src.Client, built)
	fmt.Fprintf(w, "  Cluster %s/test1: 3 control-plane + 2 worker machines, each on a BareMetalHost, with their Secrets (%d objects).\n",
		Namespace, total(res.Before))
	fmt.Fprintf(w, "  Ironic (%s/%s) and BMO run on both sides.\n", fixture.BMONamespace, fixture.IronicName)
	fmt.Fprintln(w, "  Problems:")
	fmt.Fprintf(w, "   - host %s is still provisioning (moving it now would lose the deployment half-way);\n", built.Hosts[0])
	fmt.Fprintln(w, "   - Ironic still runs on the bootstrap (two Ironics would fight over the same BMCs after the move);")
	fmt.Fprintf(w, "   - Secret %s (a host's user-data) has no owner, so `clusterctl move` would leave it behind;\n", fixture.OrphanSecretName)
	fmt.Fprintln(w, "   - BMO's CRDs on the bootstrap lack the clusterctl labels (step 1).")

	// ── 4 ──────────────────────────────────────────────────────────────
	step(w, 4, "`pivotcheck preflight` checks both clusters, read-only")
	pfArgs := []string{"preflight", "--kubeconfig", src.Kubeconfig, "--context", src.Context,
		"--to-kubeconfig", dst.Kubeconfig, "--to-context", dst.Context, "-n", Namespace}
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
	step(w, 6, "fix the problems")
	h := &bmov1alpha1.BareMetalHost{}
	if err := src.Client.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: built.Hosts[0]}, h); err != nil {
		return res, fmt.Errorf("reading host: %w", err)
	}
	// BMO would do this when the deployment finishes; envtest has no BMO.
	h.Status.Provisioning.State = bmov1alpha1.StateProvisioned
	if err := src.Client.Status().Update(ctx, h); err != nil {
		return res, fmt.Errorf("finishing the provisioning of %s: %w", h.Name, err)
	}
	fmt.Fprintf(w, "  - host %s finished provisioning (provisioned);\n", h.Name)
	if err := applyLabels(ctx, src.Client, labelled); err != nil {
		return res, err
	}
	fmt.Fprintf(w, "  - the labelled CRDs from step 2 applied to the bootstrap (%d CRDs);\n", len(labelled))
	fmt.Fprintf(w, "  - the orphaned Secret gets its host as owner: `pivotcheck move --fix-owners` does it;\n")
	fmt.Fprintln(w, "  - Ironic on the bootstrap: `pivotcheck move` hands it over (deletes it, waits for the target's) before the move.")

	// ── 7 ──────────────────────────────────────────────────────────────
	step(w, 7, "`pivotcheck move` moves everything, with progress (the webhook is still watching)")
	backup := filepath.Join(home, "backup")
	mvArgs := []string{"move", "--kubeconfig", src.Kubeconfig, "--context", src.Context,
		"--to-kubeconfig", dst.Kubeconfig, "--to-context", dst.Context, "-n", Namespace,
		"--fix-owners", "--backup-dir", backup, "--target-ironic-timeout", "30s"}
	fmt.Fprintf(w, "  $ pivotcheck %s\n", strings.Join(short(mvArgs), " "))
	out, code, err := runCmd(ctx, env, pc, mvArgs...)
	res.MoveOutput = out
	if err != nil {
		return res, err
	}
	fmt.Fprint(w, indent(hideLogs(out)))
	if code != 0 {
		return res, fmt.Errorf("pivotcheck move exited %d", code)
	}

	// ── 8 ──────────────────────────────────────────────────────────────
	step(w, 8, "object counts on both sides")
	res.Source = countKinds(ctx, src.Client, built)
	res.Target = countKinds(ctx, dst.Client, built)
	res.SourceTotal, res.TargetTotal = total(res.Source), total(res.Target)
	kinds := make([]string, 0, len(res.Before))
	for k := range res.Before {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
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
	sample := filepath.Join(repo, "config", "samples", "fn", "kustomize")
	for _, f := range []string{"kustomization.yaml", "ironic.yaml", "cluster.yaml", "pivot-prep.yaml"} {
		data, err := os.ReadFile(filepath.Join(sample, f))
		if err != nil {
			return nil, fmt.Errorf("reading the kustomize sample: %w", err)
		}
		if f == "pivot-prep.yaml" {
			data = bytes.Replace(data, []byte("path: ../../../../bin/pivotcheck"), []byte("path: "+pc), 1)
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
	fmt.Fprintf(w, "  input: BMO's %d real CRDs from the bootstrap + config/samples/fn/kustomize (Ironic, a workload cluster)\n", len(before))
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
		sort.Strings(added)
		if len(added) > 0 {
			res.LabelsAdded[u.GetName()] = added
			crd := &apiextensionsv1.CustomResourceDefinition{}
			crd.Name, crd.Labels = u.GetName(), u.GetLabels()
			labelled = append(labelled, crd)
		}
	}
	fmt.Fprintf(w, "  %d objects rendered. What the function changed on the CRDs:\n", objects)
	names := make([]string, 0, len(res.LabelsAdded))
	for n := range res.LabelsAdded {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
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

func markAvailable(ctx context.Context, c client.Client) error {
	d := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, d); err != nil {
		return fmt.Errorf("reading the target's Ironic: %w", err)
	}
	d.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, UpdatedReplicas: 1}
	if err := c.Status().Update(ctx, d); err != nil {
		return fmt.Errorf("marking the target's Ironic available: %w", err)
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

// countKinds counts, per kind the fixture created, the objects in the demo
// namespace on one side.
func countKinds(ctx context.Context, c client.Client, r *fixture.Result) map[string]int {
	out := map[string]int{}
	seen := map[string]bool{}
	for _, ref := range r.Objects {
		if seen[ref.Kind] || ref.Namespace != Namespace {
			continue
		}
		seen[ref.Kind] = true
		l := &unstructured.UnstructuredList{}
		l.SetAPIVersion(ref.APIVersion)
		l.SetKind(ref.Kind + "List")
		if err := c.List(ctx, l, client.InNamespace(Namespace)); err != nil {
			out[ref.Kind] = -1
			continue
		}
		out[ref.Kind] = len(l.Items)
	}
	return out
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
	var ee *exec.ExitError
	if errors.As(err, &ee) {
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
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// wrap breaks long admission messages at spaces so they read in a terminal.
func wrap(s string, width int) string {
	var b strings.Builder
	for _, para := range strings.Split(s, "\n") {
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
