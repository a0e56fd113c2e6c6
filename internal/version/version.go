package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set with -ldflags "-X github.com/pivotcheck/pivotcheck/internal/version.Version=...".
var (
	Version = ""
	Commit  = ""
)

// Info is what `pivotcheck version` prints.
type Info struct {
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	GoVersion  string `json:"goVersion"`
	Platform   string `json:"platform"`
	ClusterAPI string `json:"clusterAPI"`
	BMOAPIs    string `json:"bmoAPIs"`
}

// Get returns the build's version info.
func Get() Info {
	info := Info{Version: Version, Commit: Commit, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" {
			info.Version = bi.Main.Version
		}
		for _, d := range bi.Deps {
			switch d.Path {
			case "sigs.k8s.io/cluster-api":
				info.ClusterAPI = d.Version
			case "github.com/metal3-io/baremetal-operator/apis":
				info.BMOAPIs = d.Version
			}
		}
		if info.Commit == "" {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					info.Commit = s.Value
				}
			}
		}
	}
	if info.Version == "" || info.Version == "(devel)" {
		info.Version = "dev"
	}
	return info
}

func (i Info) String() string {
	s := fmt.Sprintf("pivotcheck %s (%s, %s)", i.Version, i.GoVersion, i.Platform)
	if i.Commit != "" {
		s += " commit " + i.Commit
	}
	if i.ClusterAPI != "" {
		s += fmt.Sprintf("\nbuilt against cluster-api %s, baremetal-operator apis %s", i.ClusterAPI, i.BMOAPIs)
	}
	return s
}
