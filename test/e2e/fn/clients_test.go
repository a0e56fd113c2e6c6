package e2e

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/pivotcheck/pivotcheck/fn"
)

const (
	kustomizeVersion = "v5.8.2"
	samplesDir       = "../../../examples"
	kptSample        = "pivot-prep-kpt"
	kustomizeSample  = "pivot-prep-kustomize"
)

// update rewrites the examples' .expected/ output from this run (after a
// deliberate change of the function's output; review the diff).
var update = flag.Bool("update", false, "rewrite examples/*/.expected from this run")

// run runs a command and returns stdout, failing the test with stderr.
func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	out, stderr, err := runErr(dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstderr:\n%s\nstdout:\n%s", name, strings.Join(args, " "), err, stderr, out)
	}
	return out
}

func runErr(dir string, name string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// kustomizeBin finds the standalone kustomize v5.8.2 `make tools` installs.
func kustomizeBin(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kustomize")
	if err != nil {
		t.Fatalf("standalone kustomize %s is not on PATH: run `make tools` (installs it into ~/.cache/pivotcheck/bin) and run the tests with `make test`, which puts that folder on PATH", kustomizeVersion)
	}
	if v := run(t, "", p, "version"); !strings.Contains(v, kustomizeVersion) {
		t.Fatalf("kustomize on PATH (%s) is %s, want %s: run `make tools` and `make test`", p, strings.TrimSpace(v), kustomizeVersion)
	}
	return p
}

// kptBin finds kpt (1.0.0-beta.56 is preinstalled on CI machines).
func kptBin(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kpt")
	if err != nil {
		t.Fatal("kpt is not on PATH: it is preinstalled on the CI machines as /usr/bin/kpt; elsewhere install kpt 1.0.0-beta.56 from https://github.com/kptdev/kpt/releases (a single static binary) into your PATH")
	}
	return p
}

// copyDir copies a sample folder (flat) into a temp dir.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dst, e.Name()), string(b))
	}
	return dst
}

func replaceInFile(t *testing.T, p, old, repl string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", p, old)
	}
	writeFile(t, p, strings.Replace(string(b), old, repl, 1))
}

// objects parses a multi-document YAML stream (or a folder's YAML files).
func objects(t *testing.T, stream string) map[string]*kyaml.RNode {
	t.Helper()
	out := map[string]*kyaml.RNode{}
	for doc := range strings.SplitSeq(stream, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		n, err := kyaml.Parse(doc)
		if err != nil {
			t.Fatalf("parsing output: %v\n%s", err, doc)
		}
		if n.IsNilOrEmpty() {
			continue
		}
		out[n.GetKind()+"/"+n.GetName()] = n
	}
	return out
}

func dirObjects(t *testing.T, dir string) map[string]*kyaml.RNode {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	var all []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, strings.TrimPrefix(string(b), "---\n"))
	}
	return objects(t, strings.Join(all, "\n---\n"))
}

func lookup(t *testing.T, objs map[string]*kyaml.RNode, id string, path ...string) *kyaml.RNode {
	t.Helper()
	o := objs[id]
	if o == nil {
		t.Fatalf("output has no %s", id)
	}
	n, err := o.Pipe(kyaml.Lookup(path...))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkSampleOutput asserts what the function must have done to the sample
// bundle (the same files in both sample folders).
func checkSampleOutput(t *testing.T, objs map[string]*kyaml.RNode) {
	t.Helper()
	labels := func(id string) map[string]string { return objs[id].GetLabels() }
	wantLabels := map[string][]string{
		"CustomResourceDefinition/baremetalhosts.metal3.io":                            {"clusterctl.cluster.x-k8s.io", "clusterctl.cluster.x-k8s.io/move", "clusterctl.cluster.x-k8s.io/move-hierarchy"},
		"CustomResourceDefinition/hardwaredata.metal3.io":                              {"clusterctl.cluster.x-k8s.io", "clusterctl.cluster.x-k8s.io/move"},
		"CustomResourceDefinition/metal3datatemplates.infrastructure.cluster.x-k8s.io": {"clusterctl.cluster.x-k8s.io", "clusterctl.cluster.x-k8s.io/move", "cluster.x-k8s.io/provider"},
		"CustomResourceDefinition/ippools.ipam.metal3.io":                              {"clusterctl.cluster.x-k8s.io", "cluster.x-k8s.io/provider"},
		"Secret/node-0-bmc-secret":                                                     {"clusterctl.cluster.x-k8s.io/move"},
		"Secret/node-0-user-data":                                                      {"clusterctl.cluster.x-k8s.io/move"},
	}
	for id, keys := range wantLabels {
		if objs[id] == nil {
			t.Fatalf("output has no %s", id)
		}
		l := labels(id)
		for _, k := range keys {
			if _, ok := l[k]; !ok {
				t.Errorf("%s lacks label %s (labels %v)", id, k, l)
			}
		}
	}
	if v := labels("CustomResourceDefinition/baremetalhosts.metal3.io")["cluster.x-k8s.io/provider"]; v != "" {
		t.Errorf("BMH CRD got a provider label %q", v)
	}
	// The CRD's move label moves the template: the deprecated clusterName stays unset.
	if n := lookup(t, objs, "Metal3DataTemplate/test1-controlplane-template", "spec", "clusterName"); n != nil {
		t.Errorf("Metal3DataTemplate got the deprecated clusterName %q", n.YNode().Value)
	}
	if n := lookup(t, objs, "IPPool/provisioning-pool", "spec", "clusterName"); n == nil || n.YNode().Value != "test1" {
		t.Errorf("IPPool clusterName not filled")
	}
	if n := lookup(t, objs, "BareMetalHost/node-0", "metadata", "ownerReferences"); n != nil {
		t.Errorf("BMH still has ownerReferences: %s", n.MustString())
	}
	kc := lookup(t, objs, "Deployment/baremetal-operator-ironic", "spec", "template", "spec", "containers", "[name=ironic-endpoint-keepalived]")
	if kc == nil {
		t.Fatal("no ironic-endpoint-keepalived container")
	}
	s := kc.MustString()
	for _, want := range []string{"PROVISIONING_IP", "172.22.0.2", "PROVISIONING_INTERFACE", "eth2", "NET_ADMIN", "ironic-bmo-configmap", "image: " + fn.DefaultKeepalivedImage + "\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("keepalived container lacks %q:\n%s", want, s)
		}
	}
}

// TestKustomizeSample builds examples/pivot-prep-kustomize with the
// standalone kustomize and the exec transformer, then checks that the
// function on kustomize's output changes nothing more.
func TestKustomizeSample(t *testing.T) {
	bin := needBinary(t)
	kz := kustomizeBin(t)
	dir := copyDir(t, filepath.Join(samplesDir, kustomizeSample))
	replaceInFile(t, filepath.Join(dir, "pivot-prep.yaml"), "path: ../../bin/pivotcheck", "path: "+bin)
	out, kzStderr, err := runErr(dir, kz, "build", "--enable-alpha-plugins", "--enable-exec", ".")
	if err != nil {
		t.Fatalf("kustomize build: %v\n%s", err, kzStderr)
	}
	checkSampleOutput(t, objects(t, out))
	checkExpected(t, filepath.Join(samplesDir, kustomizeSample, ".expected", "output.yaml"), out)
	// kustomize drops results; the function repeats warnings on stderr.
	if !strings.Contains(kzStderr, "[warning]") || !strings.Contains(kzStderr, "removed the ownerReference to Metal3Machine") {
		t.Errorf("kustomize did not show the function's warnings:\n%s", kzStderr)
	}

	// Idempotency through the standalone form on kustomize's own output.
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, cfg, "apiVersion: fn.pivotcheck.dev/v1alpha1\nkind: PivotPrep\nmetadata:\n  name: again\nspec:\n  keepalived:\n    provisioningIP: 172.22.0.2\n    provisioningInterface: eth2\n")
	built := filepath.Join(t.TempDir(), "built.yaml")
	writeFile(t, built, out)
	again, stderr, err := runErr("", bin, "fn", cfg, built)
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, stderr)
	}
	if strings.Contains(stderr, "[info]") {
		t.Errorf("second run reported changes:\n%s", stderr)
	}
	if !equalStreams(t, out, again) {
		t.Errorf("second run changed kustomize's output:\n%s", again)
	}

	// Without --enable-exec kustomize silently skips exec functions; the
	// test above would then fail, which is why it passes the flag.
}

func equalStreams(t *testing.T, a, b string) bool {
	t.Helper()
	oa, ob := objects(t, a), objects(t, b)
	if len(oa) != len(ob) {
		return false
	}
	for k, v := range oa {
		w := ob[k]
		if w == nil || v.MustString() != w.MustString() {
			return false
		}
	}
	return true
}

// TestKptRender runs the Kptfile pipeline of examples/pivot-prep-kpt with
// `kpt fn render --allow-exec`, twice: the second render changes no byte.
func TestKptRender(t *testing.T) {
	bin := needBinary(t)
	kpt := kptBin(t)
	dir := copyDir(t, filepath.Join(samplesDir, kptSample))
	replaceInFile(t, filepath.Join(dir, "Kptfile"), "exec: ./bin/pivotcheck fn", "exec: "+bin+" fn")
	gitStage(t, dir)
	run(t, "", kpt, "fn", "render", dir, "--allow-exec", "--results-dir", t.TempDir())
	objs := dirObjects(t, dir)
	checkSampleOutput(t, objs)
	checkExpected(t, filepath.Join(samplesDir, kptSample, ".expected", "diff.patch"), gitDiff(t, dir))
	first := snapshot(t, dir)
	for _, comment := range []string{"# Never two Ironic instances at once.", "# example only", "# clusterName is missing"} {
		if !strings.Contains(first, comment) {
			t.Errorf("kpt round trip lost the comment %q", comment)
		}
	}
	run(t, "", kpt, "fn", "render", dir, "--allow-exec", "--results-dir", t.TempDir())
	if second := snapshot(t, dir); second != first {
		t.Errorf("second kpt fn render changed the package:\n%s", second)
	}
}

// TestKptEval runs `kpt fn eval --exec` with the ConfigMap form of the
// config (`-- key=value`), twice, and with a bad value.
func TestKptEval(t *testing.T) {
	bin := needBinary(t)
	kpt := kptBin(t)
	dir := copyDir(t, filepath.Join(samplesDir, kptSample))
	gitStage(t, dir)
	args := []string{"fn", "eval", dir, "--exec", bin + " fn", "--results-dir", t.TempDir(), "--", "provisioningIP=172.22.0.2", "provisioningInterface=eth2"}
	run(t, "", kpt, args...)
	checkSampleOutput(t, dirObjects(t, dir))
	// The ConfigMap form of the same config makes the render's change.
	if !*update {
		checkExpected(t, filepath.Join(samplesDir, kptSample, ".expected", "diff.patch"), gitDiff(t, dir))
	}
	first := snapshot(t, dir)
	run(t, "", kpt, args...)
	if second := snapshot(t, dir); second != first {
		t.Errorf("second kpt fn eval changed the package:\n%s", second)
	}

	// An invalid value fails the pipeline and leaves the package alone.
	_, stderr, err := runErr("", kpt, "fn", "eval", dir, "--exec", bin+" fn", "--", "provisioningIP=not-an-ip")
	if err == nil {
		t.Fatal("kpt fn eval with provisioningIP=not-an-ip succeeded")
	}
	if !strings.Contains(stderr, "provisioningIP") {
		t.Errorf("kpt's error does not name provisioningIP:\n%s", stderr)
	}
	if after := snapshot(t, dir); after != first {
		t.Errorf("a failed eval changed the package")
	}

	// No config at all (kpt sends an empty ConfigMap): defaults apply.
	dir2 := copyDir(t, filepath.Join(samplesDir, kptSample))
	run(t, "", kpt, "fn", "eval", dir2, "--exec", bin+" fn", "--results-dir", t.TempDir())
	if l := dirObjects(t, dir2)["CustomResourceDefinition/baremetalhosts.metal3.io"].GetLabels(); len(l) != 3 {
		t.Errorf("defaults not applied: BMH CRD labels %v", l)
	}
}

// snapshot concatenates a package's files (sorted; folders such as .git
// skipped) for byte comparison.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	var b strings.Builder
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.IsDir() {
			continue
		}
		c, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("### " + filepath.Base(f) + "\n")
		b.Write(c)
	}
	return b.String()
}

// TestCLI drives `pivotcheck fn` as a process: bad input gives a clear
// error on stderr and exit 1, never a panic; both forms work.
func TestCLI(t *testing.T) {
	bin := needBinary(t)
	bad := map[string]string{
		"malformed YAML":       "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: [\n",
		"not a ResourceList":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
		"items not objects":    "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- 1\n",
		"wrong config kind":    "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n  apiVersion: fn.pivotcheck.dev/v1alpha1\n  kind: Other\n",
		"unknown config field": "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n  apiVersion: fn.pivotcheck.dev/v1alpha1\n  kind: PivotPrep\n  spec:\n    nope: 1\n",
		"empty input":          "",
		"binary garbage":       "\x00\x01\x02\xff",
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(bin, "fn")
			cmd.Stdin = strings.NewReader(in)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			ee, ok := errors.AsType[*exec.ExitError](err)
			if !ok || ee.ExitCode() != 1 {
				t.Fatalf("want exit code 1, got %v; stderr:\n%s", err, stderr.String())
			}
			if !strings.HasPrefix(stderr.String(), "Error: ") || strings.Contains(stderr.String(), "goroutine ") {
				t.Errorf("stderr is not a clear error:\n%s", stderr.String())
			}
		})
	}

	t.Run("standalone", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "config.yaml"), "apiVersion: fn.pivotcheck.dev/v1alpha1\nkind: PivotPrep\nmetadata:\n  name: x\n")
		out, stderr, err := runErr("", bin, "fn", filepath.Join(dir, "config.yaml"), filepath.Join(samplesDir, kustomizeSample, "crds.yaml"), filepath.Join(samplesDir, kustomizeSample, "cluster.yaml"))
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if strings.Contains(out, "kind: ResourceList") || !strings.Contains(out, "clusterctl.cluster.x-k8s.io/move-hierarchy") {
			t.Errorf("standalone output is not the transformed manifests:\n%s", out)
		}
		if !strings.Contains(stderr, "[info]") || !strings.Contains(stderr, "[warning]") {
			t.Errorf("standalone results not on stderr:\n%s", stderr)
		}
	})
	t.Run("standalone error result exits 1", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "config.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
		writeFile(t, filepath.Join(dir, "ironic.yaml"), "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: metal3-ironic\nspec:\n  template:\n    spec:\n      hostNetwork: false\n      containers:\n      - name: ironic\n")
		_, stderr, err := runErr("", bin, "fn", filepath.Join(dir, "config.yaml"), filepath.Join(dir, "ironic.yaml"))
		if ee, ok := errors.AsType[*exec.ExitError](err); !ok || ee.ExitCode() != 1 || !strings.Contains(stderr, "hostNetwork") {
			t.Fatalf("want exit 1 naming hostNetwork, got %v\n%s", err, stderr)
		}
	})
}
