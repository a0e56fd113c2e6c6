package lab

import (
	"fmt"
	"os"
	"path/filepath"
)

// Pinned versions; hack/lab.sh builds exactly these.
const (
	K8sVersion   = "1.35.4"
	KwokVersion  = "v0.7.0"
	BMOVersion   = "v0.13.2"
	CAPM3Version = "v1.13.2"
	IPAMVersion  = "v1.13.2"
)

// Binary names, as the logs and errors show them.
const (
	ControllerManager = "kube-controller-manager"
	Scheduler         = "kube-scheduler"
	Kwok              = "kwok"
	BMO               = "baremetal-operator"
	CAPM3             = "cluster-api-provider-metal3"
	IPAM              = "ip-address-manager"
)

// Binaries are the paths of the lab's programs.
type Binaries map[string]string

// CacheDir is the folder `make envtest` and `make lab` fill:
// $PIVOTCHECK_CACHE, else $XDG_CACHE_HOME/pivotcheck, else ~/.cache/pivotcheck.
func CacheDir() (string, error) {
	if c := os.Getenv("PIVOTCHECK_CACHE"); c != "" {
		return c, nil
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("locating the lab binaries: %w", err)
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "pivotcheck"), nil
}

// FindBinaries locates the named lab binaries (every one when none is named): the Kubernetes controllers beside
// the envtest binaries (PIVOTCHECK_LAB_K8S or the cache), the rest in the
// lab folder (PIVOTCHECK_LAB_BIN or the cache). A missing one is an error
// that names it and the command that builds it.
func FindBinaries(names ...string) (Binaries, error) {
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	k8s := os.Getenv("PIVOTCHECK_LAB_K8S")
	if k8s == "" {
		k8s = filepath.Join(cache, "k8s", K8sVersion)
	}
	bin := os.Getenv("PIVOTCHECK_LAB_BIN")
	if bin == "" {
		bin = filepath.Join(cache, "lab")
	}
	b := Binaries{
		ControllerManager: filepath.Join(k8s, ControllerManager),
		Scheduler:         filepath.Join(k8s, Scheduler),
		Kwok:              filepath.Join(bin, Kwok+"-"+KwokVersion),
		BMO:               filepath.Join(bin, BMO+"-"+BMOVersion),
		CAPM3:             filepath.Join(bin, CAPM3+"-"+CAPM3Version),
		IPAM:              filepath.Join(bin, IPAM+"-"+IPAMVersion),
	}
	if len(names) == 0 {
		for name := range b {
			names = append(names, name)
		}
	}
	for _, name := range names {
		path := b[name]
		if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("lab binary %s not found at %s: run `make lab` (builds it from the Go module proxy, see hack/lab.sh)", name, path)
		}
	}
	return b, nil
}
