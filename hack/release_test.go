// Package hack holds the tests of the repository's scripts.
package hack

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const releaseVersion = "v1.2.3-releasetest"

// krewPlugin is the part of krew's Plugin manifest the release fills in.
type krewPlugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Caveats          string `json:"caveats"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
			Bin string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

// TestRelease runs hack/release.sh for this machine's linux platform (one
// build keeps it fast; the other platforms differ only in GOOS/GOARCH) and
// checks what it ships: SHA256SUMS, a static binary with the version, the
// plugin links, and the krew manifest's sha256. The binary then runs as a
// clusterctl plugin through the real clusterctl.
func TestRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a release binary (not in -short)")
	}
	out := t.TempDir()
	platform := "linux/" + runtime.GOARCH
	cmd := exec.Command("./release.sh")
	cmd.Env = append(os.Environ(), "OUT="+out, "PLATFORMS="+platform, "VERSION="+releaseVersion)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/release.sh: %v\n%s", err, b)
	}
	archive := "pivotcheck_" + releaseVersion + "_linux_" + runtime.GOARCH + ".tar.gz"

	sums := readSums(t, filepath.Join(out, "SHA256SUMS"))
	if len(sums) != 1 || sums[archive] == "" {
		t.Fatalf("SHA256SUMS lists %v, want exactly %s", sums, archive)
	}
	if got := fileSHA256(t, filepath.Join(out, archive)); got != sums[archive] {
		t.Errorf("SHA256SUMS says %s for %s, the file has %s", sums[archive], archive, got)
	}

	bin := t.TempDir()
	extract(t, filepath.Join(out, archive), bin)
	for _, link := range []string{"clusterctl-pivotcheck", "kubectl-pivotcheck"} {
		if target, err := os.Readlink(filepath.Join(bin, link)); err != nil || target != "pivotcheck" {
			t.Errorf("archive: %s should link to pivotcheck, got %q (%v)", link, target, err)
		}
	}
	checkStatic(t, filepath.Join(bin, "pivotcheck"))
	if v := versionJSON(t, exec.Command(filepath.Join(bin, "pivotcheck"), "version", "-o", "json")); v != releaseVersion {
		t.Errorf("released binary says version %q, want %q", v, releaseVersion)
	}

	checkKrewManifest(t, filepath.Join(out, "pivotcheck.yaml"), sums)

	t.Run("clusterctl plugin", func(t *testing.T) {
		clusterctl, err := exec.LookPath("clusterctl")
		if err != nil {
			t.Fatal("clusterctl is not on PATH: run `make tools` (builds clusterctl v1.14.2 into ~/.cache/pivotcheck/bin) and put that folder on PATH, as `make test` does")
		}
		// The archive's folder first on PATH, as a user who unpacked it there.
		cmd := exec.Command(clusterctl, "pivotcheck", "version", "-o", "json")
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+t.TempDir())
		if v := versionJSON(t, cmd); v != releaseVersion {
			t.Errorf("clusterctl pivotcheck version: %q, want %q", v, releaseVersion)
		}
		// clusterctl execs the plugin with its path as argv[0]: help names
		// the command as the user typed it.
		cmd = exec.Command(clusterctl, "pivotcheck", "version", "--help")
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+t.TempDir())
		help, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("clusterctl pivotcheck version --help: %v\n%s", err, help)
		}
		if !strings.Contains(string(help), "clusterctl pivotcheck version [flags]") {
			t.Errorf("plugin help does not say `clusterctl pivotcheck version`:\n%s", help)
		}
	})

	t.Run("kubectl plugin", func(t *testing.T) {
		kubectl, err := exec.LookPath("kubectl")
		if err != nil {
			t.Fatal("kubectl is not on PATH: run the tests with `make test` (hack/tools.sh builds kubectl into the cache when the machine has none)")
		}
		// kubectl finds kubectl-pivotcheck (krew's link) on PATH and execs it.
		env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+t.TempDir())
		cmd := exec.Command(kubectl, "pivotcheck", "version", "-o", "json")
		cmd.Env = env
		if v := versionJSON(t, cmd); v != releaseVersion {
			t.Errorf("kubectl pivotcheck version: %q, want %q", v, releaseVersion)
		}
		cmd = exec.Command(kubectl, "pivotcheck", "version", "--help")
		cmd.Env = env
		help, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl pivotcheck version --help: %v\n%s", err, help)
		}
		if !strings.Contains(string(help), "kubectl pivotcheck version [flags]") {
			t.Errorf("plugin help does not say `kubectl pivotcheck version`:\n%s", help)
		}
	})
}

func readSums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		// sha256sum's format: digest, two spaces, file name.
		digest, name, ok := strings.Cut(s.Text(), "  ")
		if !ok || len(digest) != 64 {
			t.Fatalf("SHA256SUMS: malformed line %q", s.Text())
		}
		sums[name] = digest
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return sums
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// extract unpacks a release archive (regular files and symlinks only).
func extract(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", archive, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", archive, err)
		}
		name := filepath.Clean(h.Name)
		if name == "." {
			continue
		}
		if strings.Contains(name, "/") || h.Uid != 0 || h.Gid != 0 {
			t.Fatalf("%s: entry %q (uid %d, gid %d): want flat, owned by 0:0", archive, h.Name, h.Uid, h.Gid)
		}
		p := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, p); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, os.FileMode(h.Mode)&0o755); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("%s: unexpected entry %q of type %c", archive, h.Name, h.Typeflag)
		}
	}
}

// checkStatic: no program interpreter and no dynamic section (nothing for a
// dynamic loader to do), built without cgo, trimmed, for this architecture.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s is not an ELF binary: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s has a %v program header: not static", path, p.Type)
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		t.Errorf("%s has a .dynamic section: not static", path)
	}
	wantMachine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	if f.Machine != wantMachine {
		t.Errorf("%s is for %v, want %v", path, f.Machine, wantMachine)
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("%s built with CGO_ENABLED=%q -trimpath=%q, want 0 and true", path, settings["CGO_ENABLED"], settings["-trimpath"])
	}
}

func versionJSON(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
	var info struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatalf("%s: output is not JSON: %v\n%s", strings.Join(cmd.Args, " "), err, b)
	}
	return info.Version
}

// TestReleasePackaging runs hack/release.sh for all four platforms with a
// stand-in for go build (seconds instead of four full builds): the archive
// names, SHA256SUMS, one krew platform entry per archive with its sha256,
// and the same bytes on a second run.
func TestReleasePackaging(t *testing.T) {
	fakeGo := filepath.Join(t.TempDir(), "go")
	// Writes "<GOOS>/<GOARCH>" to the -o file, as a build would write a binary.
	script := "#!/bin/sh\nwhile [ $# -gt 0 ]; do if [ \"$1\" = -o ]; then printf '%s/%s' \"$GOOS\" \"$GOARCH\" >\"$2\"; fi; shift; done\n"
	if err := os.WriteFile(fakeGo, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	release := func() (string, map[string]string) {
		out := t.TempDir()
		cmd := exec.Command("./release.sh")
		cmd.Env = append(os.Environ(), "OUT="+out, "VERSION="+releaseVersion, "GO="+fakeGo, "PLATFORMS=", "SOURCE_DATE_EPOCH=1700000000")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("hack/release.sh: %v\n%s", err, b)
		}
		return out, readSums(t, filepath.Join(out, "SHA256SUMS"))
	}
	out, sums := release()
	var want []string
	for _, goos := range []string{"linux", "darwin"} {
		for _, goarch := range []string{"amd64", "arm64"} {
			want = append(want, "pivotcheck_"+releaseVersion+"_"+goos+"_"+goarch+".tar.gz")
		}
	}
	for _, a := range want {
		if sums[a] == "" {
			t.Errorf("SHA256SUMS lacks %s: %v", a, sums)
			continue
		}
		if got := fileSHA256(t, filepath.Join(out, a)); got != sums[a] {
			t.Errorf("SHA256SUMS says %s for %s, the file has %s", sums[a], a, got)
		}
	}
	if len(sums) != len(want) {
		t.Errorf("SHA256SUMS lists %d archives, want %d", len(sums), len(want))
	}
	checkKrewManifest(t, filepath.Join(out, "pivotcheck.yaml"), sums)

	if _, again := release(); !maps.Equal(again, sums) {
		t.Errorf("a second release of the same inputs differs:\n%v\n%v", sums, again)
	}
}

// checkKrewManifest: one platform per archive in sums, each with that
// archive's sha256, download URI and os/arch selector.
func checkKrewManifest(t *testing.T, path string, sums map[string]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "@") {
		t.Errorf("krew manifest has an unfilled placeholder:\n%s", b)
	}
	var m krewPlugin
	if err := yaml.UnmarshalStrict(b, &m); err != nil {
		t.Fatalf("krew manifest: %v\n%s", err, b)
	}
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "pivotcheck" {
		t.Errorf("krew manifest is %s %s %s", m.APIVersion, m.Kind, m.Metadata.Name)
	}
	if m.Spec.Version != releaseVersion {
		t.Errorf("krew manifest version %q, want %q", m.Spec.Version, releaseVersion)
	}
	if len(m.Spec.Platforms) != len(sums) {
		t.Fatalf("krew manifest has %d platforms, want %d", len(m.Spec.Platforms), len(sums))
	}
	for _, p := range m.Spec.Platforms {
		archive := "pivotcheck_" + releaseVersion + "_" + p.Selector.MatchLabels["os"] + "_" + p.Selector.MatchLabels["arch"] + ".tar.gz"
		if sums[archive] == "" {
			t.Errorf("krew manifest platform %v has no archive %s", p.Selector.MatchLabels, archive)
			continue
		}
		if p.SHA256 != sums[archive] {
			t.Errorf("krew manifest sha256 %s for %s, the archive has %s", p.SHA256, archive, sums[archive])
		}
		if !strings.HasSuffix(p.URI, "/releases/download/"+releaseVersion+"/"+archive) {
			t.Errorf("krew manifest uri %s does not end with the archive's release path", p.URI)
		}
		if p.Bin != "pivotcheck" || len(p.Files) == 0 || p.Files[0].From != "pivotcheck" {
			t.Errorf("krew manifest does not install the pivotcheck binary: bin %q files %v", p.Bin, p.Files)
		}
	}
}
