package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
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

// A kpt example's expected output is .expected/diff.patch, the change the
// function makes to the package as `git diff` shows it, as in kpt's function
// catalog: kpt reads every YAML file under a package, hidden folders
// included, so expected YAML files there would be fed to the function too.

// gitStage makes dir a git work tree with everything staged, so that gitDiff
// later shows what the client changed.
func gitStage(t *testing.T, dir string) {
	t.Helper()
	git(t, dir, "init", "-q")
	git(t, dir, "add", "-A")
}

// gitDiff is the unstaged change in dir, without color or external tools.
func gitDiff(t *testing.T, dir string) string {
	t.Helper()
	return git(t, dir, "diff", "--no-color", "--no-ext-diff")
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	// The user's git config (diff drivers, colors) must not shape the patch.
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}
