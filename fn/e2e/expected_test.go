package e2e

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// checkExpected compares a client's output with an example's .expected file
// byte for byte (or rewrites the file with -update).
func checkExpected(t *testing.T, want string, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, want, got)
		return
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatalf("%v: run the test with -update to create it", err)
	}
	if string(b) != got {
		t.Errorf("output differs from %s (if the change is intended, rerun with -update and review the diff):\n%s", want, got)
	}
}

// checkExpectedPackage compares every file of a rendered copy of an example
// package (but its README) with the example's .expected/ folder: the same
// files, the same bytes. bin is the pivotcheck path the test put into the
// Kptfile in place of the example's ./bin/pivotcheck.
func checkExpectedPackage(t *testing.T, example, rendered, bin string) {
	t.Helper()
	expected := filepath.Join(example, ".expected")
	got := map[string]string{}
	entries, err := os.ReadDir(rendered)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == "README.md" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(rendered, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got[e.Name()] = strings.ReplaceAll(string(b), bin+" fn", "./bin/pivotcheck fn")
	}
	if *update {
		if err := os.RemoveAll(expected); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range got {
		checkExpected(t, filepath.Join(expected, name), content)
	}
	if *update {
		return
	}
	want, err := os.ReadDir(expected)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range want {
		if _, ok := got[e.Name()]; !ok {
			t.Errorf("%s has %s, the rendered package has not", expected, e.Name())
		}
	}
	if len(got) != len(want) {
		t.Errorf("rendered package has %v, %s has %d files", slices.Sorted(maps.Keys(got)), expected, len(want))
	}
}
