package ironic

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProbeAPI(t *testing.T) {
	var path string
	status := http.StatusUnauthorized
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		w.WriteHeader(status)
	}))
	defer srv.Close()
	for _, u := range []string{srv.URL, srv.URL + "/", srv.URL + "/v1", srv.URL + "/v1/nodes"} {
		p := ProbeAPI(context.Background(), u)
		require.NoError(t, p.Err)
		require.Equal(t, 401, p.Status)
		require.Equal(t, "/v1/nodes", path)
		require.Empty(t, p.Problem())
	}
	status = http.StatusOK
	require.Empty(t, ProbeAPI(context.Background(), srv.URL).Problem(), "auth disabled is fine")

	status = http.StatusServiceUnavailable
	require.Contains(t, ProbeAPI(context.Background(), srv.URL).Problem(), "answered HTTP 503, expected 401")

	// A redirect is not followed: the VIP itself must answer.
	status = http.StatusFound
	require.Contains(t, ProbeAPI(context.Background(), srv.URL).Problem(), "HTTP 302")

	// TLS with a self-signed certificate is accepted (only the status is read).
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	defer tlsSrv.Close()
	require.Empty(t, ProbeAPI(context.Background(), tlsSrv.URL).Problem())

	// Nothing listening.
	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL
	closed.Close()
	p := ProbeAPI(context.Background(), url)
	require.Error(t, p.Err)
	require.Contains(t, p.Problem(), "did not answer")
}
