package ironic

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNodesURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://172.22.0.2:6385/v1/":      "https://172.22.0.2:6385/v1/nodes",
		"https://172.22.0.2:6385":          "https://172.22.0.2:6385/v1/nodes",
		"http://[fd00::2]:6385/v1":         "http://[fd00::2]:6385/v1/nodes",
		" http://ironic:6385/v1/nodes?x=1": "http://ironic:6385/v1/nodes",
	} {
		got, ok := NodesURL(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "Ironic resource ns/ironic (Ironic Standalone Operator)", "ftp://x/", "https://"} {
		_, ok := NodesURL(bad)
		require.False(t, ok, bad)
	}
}

// TestProbe: a local server answering 401 answered; a closed port and a
// server that does not answer within the timeout did not.
func TestProbe(t *testing.T) {
	var path string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	p := Probe(context.Background(), srv.URL+"/v1/", time.Second)
	require.True(t, p.Answered(), p.String())
	require.Equal(t, 401, p.Status)
	require.Equal(t, "/v1/nodes", path)
	require.Contains(t, p.String(), "answered HTTP 401")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	p = Probe(context.Background(), closed, time.Second)
	require.False(t, p.Answered())
	require.Contains(t, p.String(), "did not answer")

	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hang }))
	defer slow.Close()
	defer close(hang)
	start := time.Now()
	p = Probe(context.Background(), slow.URL, 200*time.Millisecond)
	require.False(t, p.Answered())
	require.Less(t, time.Since(start), 5*time.Second, "the timeout bounds the probe")

	p = Probe(context.Background(), "Ironic resource ns/ironic (Ironic Standalone Operator)", time.Second)
	require.False(t, p.Answered())
	require.Contains(t, p.Err.Error(), "is not an http(s) URL")
}
