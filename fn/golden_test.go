package fn

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

var update = flag.Bool("update", false, "rewrite testdata/fn/*/expected.yaml and errors.txt from the actual output")

const goldenDir = "../testdata/fn"

// TestGolden runs every case folder under testdata/fn: input.yaml (a
// ResourceList, or deliberately bad input) → expected.yaml (the whole output
// ResourceList, results included) and/or errors.txt (one regexp per line
// the error must match; its presence means the run must fail). Every case
// that produces output is then run again on its own output: the items must
// come out byte for byte the same with no info result (idempotency).
func TestGolden(t *testing.T) {
	dirs, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		n++
		dir := filepath.Join(goldenDir, d.Name())
		t.Run(d.Name(), func(t *testing.T) { runGolden(t, dir) })
	}
	if n < 10 {
		t.Fatalf("only %d golden cases found in %s", n, goldenDir)
	}
}

func runGolden(t *testing.T, dir string) {
	in, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	runErr := RunResourceList(bytes.NewReader(in), &out)

	errFile := filepath.Join(dir, "errors.txt")
	wantErr, errFileErr := os.ReadFile(errFile)
	switch {
	case *update && runErr != nil:
		writeFile(t, errFile, regexp.QuoteMeta(firstLine(runErr.Error()))+"\n")
	case *update:
		_ = os.Remove(errFile)
	case errFileErr == nil:
		if runErr == nil {
			t.Fatalf("want an error matching %s, got none", errFile)
		}
		for line := range strings.SplitSeq(strings.TrimSpace(string(wantErr)), "\n") {
			if !regexp.MustCompile(line).MatchString(runErr.Error()) {
				t.Errorf("error %q does not match %q", runErr, line)
			}
		}
	case runErr != nil:
		t.Fatalf("unexpected error: %v", runErr)
	}

	expFile := filepath.Join(dir, "expected.yaml")
	if *update {
		if out.Len() > 0 {
			writeFile(t, expFile, out.String())
		} else {
			_ = os.Remove(expFile)
		}
	} else if want, err := os.ReadFile(expFile); err == nil {
		if got := out.String(); got != string(want) {
			t.Errorf("output differs from %s (run go test ./fn -run TestGolden -update to see the diff in git):\n%s", expFile, got)
		}
	} else if out.Len() > 0 && errFileErr != nil {
		t.Errorf("%s is missing", expFile)
	}

	if out.Len() > 0 {
		var again bytes.Buffer
		_ = RunResourceList(bytes.NewReader(in), &again)
		if again.String() != out.String() {
			t.Errorf("output is not deterministic: two runs on the same input differ")
		}
		checkIdempotent(t, out.Bytes())
		checkUntouched(t, in, out.Bytes())
	}
}

// checkUntouched: an item no result names must come out exactly as it went in.
func checkUntouched(t *testing.T, in, out []byte) {
	t.Helper()
	inRL, outRL := parseRL(t, in), parseRL(t, out)
	named := map[string]bool{}
	if r := outRL.Field("results"); r != nil {
		for _, res := range r.Value.Content() {
			ref := kyaml.NewRNode(res)
			kind, _ := ref.GetString("resourceRef.kind")
			name, _ := ref.GetString("resourceRef.name")
			ns, _ := ref.GetString("resourceRef.namespace")
			named[kind+"/"+ns+"/"+name] = true
		}
	}
	inItems, outItems := inRL.Field("items"), outRL.Field("items")
	if inItems == nil || outItems == nil {
		return
	}
	a, b := inItems.Value.Content(), outItems.Value.Content()
	if len(a) != len(b) {
		t.Fatalf("the function changed the number of items from %d to %d", len(a), len(b))
	}
	for i := range a {
		o := kyaml.NewRNode(a[i])
		if named[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] {
			continue
		}
		if x, y := o.MustString(), kyaml.NewRNode(b[i]).MustString(); x != y {
			t.Errorf("item %d (%s %s) changed although no result names it:\n%s\n--- became ---\n%s", i, o.GetKind(), o.GetName(), x, y)
		}
	}
}

// checkIdempotent runs the function on its own output: the items must not
// change and no info result (a change) may appear.
func checkIdempotent(t *testing.T, first []byte) {
	t.Helper()
	var second bytes.Buffer
	_ = RunResourceList(bytes.NewReader(first), &second) // error results may repeat; compare below
	a, b := parseRL(t, first), parseRL(t, second.Bytes())
	if ai, bi := fieldString(t, a, "items"), fieldString(t, b, "items"); ai != bi {
		t.Errorf("not idempotent: second run changed the items:\nfirst:\n%s\nsecond:\n%s", ai, bi)
	}
	if strings.Contains(fieldString(t, b, "results"), "severity: info") {
		t.Errorf("not idempotent: second run reported changes:\n%s", fieldString(t, b, "results"))
	}
}

func parseRL(t *testing.T, b []byte) *kyaml.RNode {
	t.Helper()
	n, err := kyaml.Parse(string(b))
	if err != nil {
		t.Fatalf("output is not YAML: %v", err)
	}
	return n
}

func fieldString(t *testing.T, n *kyaml.RNode, f string) string {
	t.Helper()
	v := n.Field(f)
	if v == nil {
		return ""
	}
	s, err := v.Value.String()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func firstLine(s string) string {
	if before, _, ok := strings.Cut(s, "\n"); ok {
		return before
	}
	return s
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
