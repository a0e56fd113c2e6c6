package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestCatalogMetadata: fn/metadata.yaml has the fields of a kpt function
// catalog entry, and its example packages are exactly examples/, each with
// the .expected/ output the client tests check.
func TestCatalogMetadata(t *testing.T) {
	b, err := os.ReadFile("../../../fn/metadata.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Image              string   `json:"image"`
		Description        string   `json:"description"`
		Tags               []string `json:"tags"`
		SourceURL          string   `json:"sourceURL"`
		ExamplePackageURLs []string `json:"examplePackageURLs"`
		License            string   `json:"license"`
	}
	if err := yaml.UnmarshalStrict(b, &m); err != nil {
		t.Fatalf("fn/metadata.yaml: %v", err)
	}
	if m.Image == "" || m.Description == "" || m.License == "" || !slices.Contains(m.Tags, "mutator") {
		t.Errorf("fn/metadata.yaml lacks image, description, license or the mutator tag: %+v", m)
	}
	if !strings.HasSuffix(m.SourceURL, "/fn") {
		t.Errorf("fn/metadata.yaml sourceURL %s is not the fn folder", m.SourceURL)
	}
	var listed []string
	for _, u := range m.ExamplePackageURLs {
		_, dir, ok := strings.Cut(u, "/tree/main/")
		if !ok || !strings.HasPrefix(dir, "examples/") {
			t.Errorf("fn/metadata.yaml example %s is not under examples/ of this repository", u)
			continue
		}
		listed = append(listed, filepath.Base(dir))
	}
	entries, err := os.ReadDir(samplesDir)
	if err != nil {
		t.Fatal(err)
	}
	var present []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		present = append(present, e.Name())
		if _, err := os.Stat(filepath.Join(samplesDir, e.Name(), ".expected")); err != nil {
			t.Errorf("examples/%s has no .expected/ output", e.Name())
		}
	}
	slices.Sort(listed)
	if !slices.Equal(listed, present) {
		t.Errorf("fn/metadata.yaml lists examples %v, examples/ has %v", listed, present)
	}
}

// TestFunctionImageDoc: `kpt fn doc --image` runs the image with --help. The
// Dockerfile's fn stage has the function as its entrypoint, so that prints
// the function's documentation, not the root command's help. Docker is not
// available on the test machines: the test runs the entrypoint the
// Dockerfile declares, plus --help, on the binary.
func TestFunctionImageDoc(t *testing.T) {
	bin := needBinary(t)
	f, err := os.Open("../../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var entrypoint []string
	inFn := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 0 {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			inFn = len(fields) == 4 && strings.EqualFold(fields[2], "AS") && fields[3] == "fn"
		case "ENTRYPOINT":
			if inFn {
				if err := json.Unmarshal([]byte(strings.TrimSpace(strings.TrimPrefix(s.Text(), fields[0]))), &entrypoint); err != nil {
					t.Fatalf("Dockerfile fn stage: ENTRYPOINT is not exec form: %v", err)
				}
			}
		}
	}
	if !slices.Equal(entrypoint, []string{"/pivotcheck", "fn"}) {
		t.Fatalf("Dockerfile fn stage ENTRYPOINT %v, want [/pivotcheck fn]", entrypoint)
	}
	out, err := exec.Command(bin, append(entrypoint[1:], "--help")...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "pivot-prep: a KRM function") || strings.Contains(string(out), "Available Commands") {
		t.Errorf("the function image's --help is not the function's documentation:\n%s", out)
	}
}
