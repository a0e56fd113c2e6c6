package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Module is one pinned upstream Go module.
type Module struct {
	Path    string
	Version string
	// NoSumDB is set for modules the public checksum database has no entry for.
	NoSumDB bool
}

func (m Module) String() string { return m.Path + "@" + m.Version }

// Cluster API v1.14.2 (the release pivotcheck links) and the Metal3 1.13
// train (docs/facts.md#versions): the Metal3 1.14 releases are not on the
// module proxy.
var (
	ClusterAPI = Module{Path: "sigs.k8s.io/cluster-api", Version: "v1.14.2"}
	// ClusterAPIv113 is the previous Cluster API release, whose CRDs the
	// integration tests run against too.
	ClusterAPIv113 = Module{Path: "sigs.k8s.io/cluster-api", Version: "v1.13.6"}
	CAPM3          = Module{Path: "github.com/metal3-io/cluster-api-provider-metal3", Version: "v1.13.2", NoSumDB: true}
	BMO            = Module{Path: "github.com/metal3-io/baremetal-operator", Version: "v0.13.2"}
	IPAM           = Module{Path: "github.com/metal3-io/ip-address-manager", Version: "v1.13.2", NoSumDB: true}
)

// ClusterAPIReleases are the Cluster API CRD sets the tests run against,
// the linked release first.
var ClusterAPIReleases = []Module{ClusterAPI, ClusterAPIv113}

var (
	mu   sync.Mutex
	dirs = map[Module]string{}
)

// Dir downloads m if needed (through `go mod download`) and returns the
// directory the module was unpacked into. Results are memoised per process.
func Dir(ctx context.Context, m Module) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	// A test that points HOME (and so Go's default module cache) at a
	// temporary folder downloads into it; once that folder is gone the
	// module is fetched again.
	if d, ok := dirs[m]; ok {
		if _, err := os.Stat(d); err == nil {
			return d, nil
		}
		delete(dirs, m)
	}
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", m.String())
	// Run outside any module so the project's go.mod is neither read nor edited.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if m.NoSumDB {
		cmd.Env = append(cmd.Env, "GONOSUMDB="+joinNonEmpty(os.Getenv("GONOSUMDB"), m.Path))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		return "", fmt.Errorf("go mod download %s: %v: %s", m, runErr, strings.TrimSpace(stderr.String())) //nolint:errorlint // runErr may be nil; the output is what explains it
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", m, info.Error)
	}
	dirs[m] = info.Dir
	return info.Dir, nil
}

func joinNonEmpty(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
}

// yamlFiles lists the *.yaml files of the given module subdirectories, sorted.
func yamlFiles(ctx context.Context, m Module, subdirs ...string) ([]string, error) {
	root, err := Dir(ctx, m)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, sub := range subdirs {
		matches, err := filepath.Glob(filepath.Join(root, sub, "*.yaml"))
		if err != nil {
			return nil, fmt.Errorf("listing %s in %s: %w", sub, m, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("no CRDs under %s in %s", sub, m)
		}
		files = append(files, matches...)
	}
	slices.Sort(files)
	return files, nil
}

// ClusterAPICRDs returns the CRD files of CAPI core, the kubeadm bootstrap
// provider and the kubeadm control plane provider of the linked release.
func ClusterAPICRDs(ctx context.Context) ([]string, error) {
	return ClusterAPICRDsOf(ctx, ClusterAPI)
}

// ClusterAPICRDsOf is ClusterAPICRDs of the Cluster API release m.
func ClusterAPICRDsOf(ctx context.Context, m Module) ([]string, error) {
	root, err := Dir(ctx, m)
	if err != nil {
		return nil, err
	}
	return yamlFiles(ctx, m, coreCRDDir(root),
		"bootstrap/kubeadm/config/crd/bases", "controlplane/kubeadm/config/crd/bases")
}

// coreCRDDir is where a Cluster API module keeps its core CRDs: v1.14 moved
// the core manager and its config under core/; earlier releases have them
// at the root.
func coreCRDDir(root string) string {
	const v114 = "core/config/crd/bases"
	if st, err := os.Stat(filepath.Join(root, v114)); err == nil && st.IsDir() {
		return v114
	}
	return "config/crd/bases"
}

// CAPM3CRDs returns the CRD files of Cluster API Provider Metal3.
func CAPM3CRDs(ctx context.Context) ([]string, error) {
	return yamlFiles(ctx, CAPM3, "config/crd/bases")
}

// BMOCRDs returns the CRD files of the baremetal-operator (metal3.io group).
func BMOCRDs(ctx context.Context) ([]string, error) {
	return yamlFiles(ctx, BMO, "config/base/crds/bases")
}

// IPAMCRDs returns the CRD files of the Metal3 IP address manager.
func IPAMCRDs(ctx context.Context) ([]string, error) {
	return yamlFiles(ctx, IPAM, "config/crd/bases")
}

// AllCRDs returns every CRD file a Metal3 management cluster carries, with
// the linked Cluster API release's CRDs.
func AllCRDs(ctx context.Context) ([]string, error) {
	return AllCRDsWith(ctx, ClusterAPI)
}

// AllCRDsWith is AllCRDs with the CRDs of the Cluster API release capi.
func AllCRDsWith(ctx context.Context, capi Module) ([]string, error) {
	all, err := ClusterAPICRDsOf(ctx, capi)
	if err != nil {
		return nil, err
	}
	for _, f := range []func(context.Context) ([]string, error){CAPM3CRDs, BMOCRDs, IPAMCRDs} {
		files, err := f(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, files...)
	}
	return all, nil
}

// IronicDeployment returns BMO's ironic-deployment/ directory (base,
// components/keepalived, overlays).
func IronicDeployment(ctx context.Context) (string, error) {
	return subdir(ctx, BMO, "ironic-deployment")
}

// CAPM3Examples returns CAPM3's examples/ directory.
func CAPM3Examples(ctx context.Context) (string, error) {
	return subdir(ctx, CAPM3, "examples")
}

func subdir(ctx context.Context, m Module, sub string) (string, error) {
	root, err := Dir(ctx, m)
	if err != nil {
		return "", err
	}
	d := filepath.Join(root, sub)
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		return "", fmt.Errorf("%s has no %s directory", m, sub)
	}
	return d, nil
}
