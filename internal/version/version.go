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

// Info is what `pivotcheck version` prints. The upstream versions are the
// modules linked into the binary, read from its build info.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
	// ClusterAPI is the sigs.k8s.io/cluster-api module: the clusterctl
	// library `pivotcheck move` runs.
	ClusterAPI string `json:"clusterAPI"`
	// ClusterAPITypes is sigs.k8s.io/cluster-api/api, the API types
	// module Cluster API v1.14 split off the main one.
	ClusterAPITypes string `json:"clusterAPITypes,omitempty"`
	BMOAPIs         string `json:"bmoAPIs"`
}

// Module paths whose versions Get reports.
const (
	ClusterAPIModule      = "sigs.k8s.io/cluster-api"
	ClusterAPITypesModule = "sigs.k8s.io/cluster-api/api"
	BMOAPIsModule         = "github.com/metal3-io/baremetal-operator/apis"
)

// Get returns the build's version info.
func Get() Info {
	info := Info{Version: Version, Commit: Commit, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" {
			info.Version = bi.Main.Version
		}
		for _, d := range bi.Deps {
			v := d.Version
			if d.Replace != nil && d.Replace.Version != "" {
				v = d.Replace.Version
			}
			switch d.Path {
			case ClusterAPIModule:
				info.ClusterAPI = v
			case ClusterAPITypesModule:
				info.ClusterAPITypes = v
			case BMOAPIsModule:
				info.BMOAPIs = v
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
		s += fmt.Sprintf("\nbuilt against cluster-api %s (clusterctl library), baremetal-operator apis %s", i.ClusterAPI, i.BMOAPIs)
	}
	return s
}
