package preflight

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
)

// TestProbeSourceIronic probes the endpoint named in the source BMO's
// environment: a local server answering 401 is evidence, a closed port is not.
func TestProbeSourceIronic(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	src := ironicSide(0, true, "172.22.0.2")
	src.Deployments = append(src.Deployments, bmoWithEndpoint(srv.URL+"/v1/"))
	s := &Snapshot{IronicWorkloads: ironic.DefaultWorkloads, Source: src}
	p := probeSourceIronic(context.Background(), s)
	require.NotNil(t, p)
	require.True(t, p.Answered(), p.String())
	require.Equal(t, 401, p.Status)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "https://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	s.Source.Deployments[len(s.Source.Deployments)-1] = bmoWithEndpoint(closed)
	p = probeSourceIronic(context.Background(), s)
	require.NotNil(t, p)
	require.False(t, p.Answered(), p.String())

	// Ironic running in the source, or an IrSO reference instead of a URL: no probe.
	s.Source = ironicSide(1, true, "172.22.0.2")
	require.Nil(t, probeSourceIronic(context.Background(), s))
}
