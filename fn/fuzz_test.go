package fn

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// fuzzCorpusDir holds hand-written seed inputs (plain YAML files); crashers
// found by `go test -fuzz` land in fn/testdata/fuzz/FuzzResourceList and
// stay there as regression cases.
const fuzzCorpusDir = "../testdata/fuzz-fn"

// corpusBytes returns a seed file's input bytes.
func corpusBytes(b []byte) []byte { return b }

// FuzzResourceList feeds arbitrary bytes to the function as its stdin. It
// must never panic; when it accepts the input, its output must be accepted
// again and come out unchanged (idempotency).
//
//	go test ./fn -run '^$' -fuzz FuzzResourceList -fuzztime 5m
func FuzzResourceList(f *testing.F) {
	for _, glob := range []string{filepath.Join(goldenDir, "*", "input.yaml"), filepath.Join(fuzzCorpusDir, "*")} {
		files, err := filepath.Glob(glob)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		if err := RunResourceList(bytes.NewReader(in), &out); err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		var again bytes.Buffer
		if err := RunResourceList(bytes.NewReader(out.Bytes()), &again); err != nil {
			t.Fatalf("accepted input, rejected its own output: %v\noutput:\n%s", err, out.String())
		}
		a, b := parseRL(t, out.Bytes()), parseRL(t, again.Bytes())
		if fieldString(t, a, "items") != fieldString(t, b, "items") {
			t.Fatalf("second run changed the items\nfirst:\n%s\nsecond:\n%s", out.String(), again.String())
		}
	})
}
