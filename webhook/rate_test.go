package webhook

import (
	"testing"

	"k8s.io/client-go/rest"

	"github.com/pivotcheck/pivotcheck/internal/kube"
)

// The webhook's client is unthrottled by default (Priority and Fairness
// protects the API server); --kube-api-qps/--kube-api-burst set a limit,
// and a config that carries its own limit keeps it.
func TestRate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want kube.Rate
	}{
		{name: "default", o: Options{}, want: kube.Rate{QPS: -1}},
		{name: "flag default", o: Options{QPS: -1}, want: kube.Rate{QPS: -1}},
		{name: "limited", o: Options{QPS: 50, Burst: 100}, want: kube.Rate{QPS: 50, Burst: 100}},
	} {
		if got := tc.o.Rate(); got != tc.want {
			t.Errorf("%s: Rate() = %+v, want %+v", tc.name, got, tc.want)
		}
	}
	cfg := Options{QPS: 50, Burst: 100}.Rate().Apply(&rest.Config{QPS: 1000, Burst: 2000})
	if cfg.QPS != 1000 || cfg.Burst != 2000 {
		t.Errorf("a config's own limit was replaced: %v/%v", cfg.QPS, cfg.Burst)
	}
}
