package fn

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/kio"
)

// writerInputs are the ResourceLists the writer is checked on: every golden
// input, the benchmark bundle and the fuzz seed corpus.
func writerInputs(t *testing.T) map[string][]byte {
	t.Helper()
	in := map[string][]byte{"generated-500": genResourceList(500)}
	for _, glob := range []string{filepath.Join(goldenDir, "*", "input.yaml"), filepath.Join(goldenDir, "*", "expected.yaml"), filepath.Join(fuzzCorpusDir, "*")} {
		files, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			in[f] = b
		}
	}
	return in
}

// TestWriterMatchesKyaml: the item-by-item writer produces exactly the bytes
// kyaml's ByteWriter produces for the same nodes.
func TestWriterMatchesKyaml(t *testing.T) {
	checked := 0
	for name, b := range writerInputs(t) {
		b = corpusBytes(b)
		want, ok := writeWith(b, false)
		if !ok {
			continue
		}
		got, _ := writeWith(b, true)
		if got != want {
			t.Errorf("%s: writers differ\nkyaml:\n%s\nours:\n%s", name, want, got)
		}
		checked++
	}
	if checked < 20 {
		t.Fatalf("only %d inputs checked", checked)
	}
}

// writeWith reads b as a ResourceList and writes it back with kyaml's
// writer or ours; ok is false when b is not a non-empty ResourceList.
func writeWith(b []byte, ours bool) (string, bool) {
	rw := &kio.ByteReadWriter{Reader: bytes.NewReader(b), KeepReaderAnnotations: true}
	items, err := rw.Read()
	if err != nil || rw.WrappingKind != kio.ResourceListKind || len(items) == 0 {
		return "", false
	}
	if _, err := kio.PreprocessResourcesForInternalAnnotationMigration(items); err != nil {
		return "", false
	}
	var out bytes.Buffer
	if ours {
		if err := writeResourceList(&out, rw.WrappingAPIVersion, rw.WrappingKind, items, rw.FunctionConfig, rw.Results); err != nil {
			return "error: " + err.Error(), true
		}
		return out.String(), true
	}
	rw.Writer = &out
	if err := rw.Write(items); err != nil {
		return "error: " + err.Error(), true
	}
	return out.String(), true
}
