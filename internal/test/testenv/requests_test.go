package testenv

import (
	"testing"
)

func TestParseRequestTotal(t *testing.T) {
	raw := []byte(`# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="secrets",scope="namespace",subresource="",verb="LIST",version="v1"} 12
apiserver_request_total{code="200",component="apiserver",dry_run="",group="metal3.io",resource="baremetalhosts",scope="resource",subresource="",verb="PATCH",version="v1alpha1"} 100
apiserver_request_total{code="200",component="apiserver",dry_run="All",group="metal3.io",resource="baremetalhosts",scope="resource",subresource="",verb="PATCH",version="v1alpha1"} 100
apiserver_request_total{code="409",component="apiserver",dry_run="",group="metal3.io",resource="baremetalhosts",scope="resource",subresource="",verb="PATCH",version="v1alpha1"} 2
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="cluster",subresource="",verb="LIST",version="v1"} 3.5e+01
apiserver_request_duration_seconds_bucket{verb="GET",le="0.005"} 9
`)
	got, err := parseRequestTotal(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := Requests{"LIST": 47, "PATCH": 202}
	if len(got) != len(want) || got["LIST"] != want["LIST"] || got["PATCH"] != want["PATCH"] {
		t.Fatalf("got %v, want %v", got, want)
	}
	later := Requests{"LIST": 50, "PATCH": 202, "GET": 1}
	d := later.Sub(got)
	if len(d) != 2 || d["LIST"] != 3 || d["GET"] != 1 || d.Total() != 4 {
		t.Fatalf("Sub: got %v", d)
	}
	if _, err := parseRequestTotal([]byte(`apiserver_request_total{verb="GET"} x`)); err == nil {
		t.Fatal("a bad sample must be an error")
	}
}
