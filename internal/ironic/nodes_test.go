package ironic

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A node as Ironic 39 lists it with the fields asked for (read from the
// lab's Ironic after a failed adoption).
const adoptFailedNode = `{"uuid":"6b0e…","name":"pivot~live-0","provision_state":"adopt failed","target_provision_state":null,
"last_error":"Error while attempting to adopt node 6b0e: Cannot validate driver deploy. Some parameters were missing in node's instance_info.","deploy_interface":"ramdisk",
"driver_internal_info":{"deploy_boot_mode":"uefi"},"instance_info":{},"links":[]}`

func TestDecodeNode(t *testing.T) {
	n, err := DecodeNode([]byte(adoptFailedNode))
	require.NoError(t, err)
	require.Equal(t, "pivot~live-0", n.Name)
	require.Equal(t, "adopt failed", n.ProvisionState)
	require.True(t, n.Idle())
	require.Contains(t, n.LastError, "instance_info")
	require.Equal(t, "ramdisk", n.DeployInterface)
	require.Contains(t, n.DriverInternalInfo, "deploy_boot_mode")

	for _, tc := range []struct{ raw, err string }{
		{`[]`, "node: not a JSON object"},
		{`{"name":"pivot~h0","provision_state":3}`, "node pivot~h0: field provision_state: want a string, got 3"},
		{`{"uuid":"u1","last_error":{"a":1}}`, `node u1: field last_error: want a string, got {"a":1}`},
		{`{"name":"pivot~h0","driver_internal_info":"x"}`, `node pivot~h0: field driver_internal_info: want an object, got "x"`},
		{`{"name":"pivot~h0","instance_info":[1]}`, "field instance_info: want an object"},
		{`{"provision_state":"active"}`, "node (no name, no uuid): fields name and uuid: both missing"},
	} {
		_, err := DecodeNode([]byte(tc.raw))
		require.ErrorContains(t, err, tc.err, tc.raw)
	}
	// null is as good as absent.
	n, err = DecodeNode([]byte(`{"name":"h","last_error":null,"driver_internal_info":null}`))
	require.NoError(t, err)
	require.Empty(t, n.LastError)
	require.Nil(t, n.DriverInternalInfo)
}

func TestDecodeNodeList(t *testing.T) {
	nodes, next, err := DecodeNodeList([]byte(`{"nodes":[` + adoptFailedNode + `,{"name":"pivot~ext-0","provision_state":"active"}],"next":"http://10.0.0.1:6385/v1/nodes?limit=2&marker=u2"}`))
	require.NoError(t, err)
	require.Len(t, nodes, 2)
	require.Equal(t, "http://10.0.0.1:6385/v1/nodes?limit=2&marker=u2", next)
	_, _, err = DecodeNodeList([]byte(`{"nodes":[{"name":"a"},7]}`))
	require.ErrorContains(t, err, "node list: nodes[1]: want an object, got 7")
	_, _, err = DecodeNodeList([]byte(`{"nodes":{}}`))
	require.ErrorContains(t, err, "node list: field nodes")
	_, _, err = DecodeNodeList([]byte(`{"nodes":[],"next":1}`))
	require.ErrorContains(t, err, "node list: field next: want a string")
}

func TestDecodeHistory(t *testing.T) {
	h, err := DecodeHistory("pivot~h0", []byte(`{"history":[{"created_at":"2026-12-06T09:58:11.980341+00:00","severity":"ERROR","event_type":"adoption","event":"Error while attempting to adopt"},{"created_at":"2026-12-06T09:58:12","severity":"INFO"},{"severity":"INFO"}]}`))
	require.NoError(t, err)
	require.Len(t, h, 3)
	require.Equal(t, time.Date(2026, 12, 6, 9, 58, 11, 980341000, time.UTC), h[0].CreatedAt.UTC())
	require.Equal(t, "ERROR", h[0].Severity)
	require.Equal(t, time.Date(2026, 12, 6, 9, 58, 12, 0, time.UTC), h[1].CreatedAt, "no offset: UTC")
	require.True(t, h[2].CreatedAt.IsZero())
	for _, tc := range []struct{ raw, err string }{
		{`{"history":{}}`, "history of node pivot~h0: field history"},
		{`{"history":[{"severity":1}]}`, "history of node pivot~h0: history[0].severity: want a string, got 1"},
		{`{"history":[{"created_at":"yesterday"}]}`, `history of node pivot~h0: history[0].created_at: "yesterday" is not a time`},
		{`{"history":[1]}`, "history of node pivot~h0: field history"},
	} {
		_, err := DecodeHistory("pivot~h0", []byte(tc.raw))
		require.ErrorContains(t, err, tc.err, tc.raw)
	}
}

// FuzzDecode: whatever an Ironic (or something in its place) answers, the
// decoders return an error or a value, never panic.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(adoptFailedNode))
	f.Add([]byte(`{"nodes":[{"name":"a","driver_internal_info":{"deploy_steps":null}}],"next":""}`))
	f.Add([]byte(`{"history":[{"created_at":"2026-12-06T09:58:11+00:00","severity":"ERROR"}]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"nodes":null,"history":null}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		n, err := DecodeNode(raw)
		if err == nil && n.Name == "" && n.UUID == "" {
			t.Fatalf("a node without name and uuid decoded: %q", raw)
		}
		_, _, _ = DecodeNodeList(raw)
		_, _ = DecodeHistory("n", raw)
		_ = ErrorMessage(raw)
	})
}

// TestClient: the microversion header on every request, pages followed on
// the address given, Ironic's refusals told apart, every request bounded.
func TestClient(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	var hang chan struct{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("X-OpenStack-Ironic-API-Version"))
		mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/history"):
			_, _ = w.Write([]byte(`{"history":[{"created_at":"2026-12-06T09:58:11+00:00","severity":"ERROR","event":"boom"}]}`))
		case r.URL.Query().Get("marker") == "":
			// The next link names the API's idea of its own address.
			_, _ = w.Write([]byte(`{"nodes":[{"name":"ns~a","provision_state":"active"}],"next":"http://ironic.example:6385/v1/nodes?limit=1&marker=a&fields=name"}`))
		default:
			_, _ = w.Write([]byte(`{"nodes":[{"name":"ns~b","provision_state":"enroll"}]}`))
		}
	}))
	defer srv.Close()
	c := &Client{Endpoint: srv.URL + "/v1/"}
	nodes, err := c.Nodes(t.Context())
	require.NoError(t, err)
	require.Len(t, nodes, 2)
	require.Equal(t, "ns~b", nodes[1].Name)
	h, err := c.History(t.Context(), "ns~a")
	require.NoError(t, err)
	require.Len(t, h, 1)
	require.Len(t, seen, 3)
	require.True(t, strings.HasPrefix(seen[0], "GET /v1/nodes?fields=uuid%2Cname%2Cprovision_state"), seen[0])
	require.Equal(t, "GET /v1/nodes?limit=1&marker=a&fields=name 1.78", seen[1], "the next page from the address given")
	require.Equal(t, "GET /v1/nodes/ns~a/history?detail=true 1.78", seen[2])
	for _, s := range seen {
		require.True(t, strings.HasSuffix(s, " "+NodeAPIVersion), "history needs >= 1.78: %s", s)
	}

	status := func(code int, body string) *Client {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
		}))
		t.Cleanup(s.Close)
		return &Client{Endpoint: s.URL}
	}
	_, err = status(401, `{"error_message":"{\"faultstring\":\"Authentication required\"}"}`).Nodes(t.Context())
	require.ErrorIs(t, err, ErrUnauthorized)
	_, err = status(406, `{"error_message":"{\"faultstring\":\"Version 1.78 was requested but the maximum is 1.72\"}"}`).Nodes(t.Context())
	require.ErrorIs(t, err, ErrVersion)
	require.ErrorContains(t, err, "maximum is 1.72")
	_, err = status(500, `{"error_message":"{\"faultstring\":\"db gone\"}"}`).History(t.Context(), "ns~a")
	require.ErrorContains(t, err, "reading the history of Ironic node ns~a: GET ")
	require.ErrorContains(t, err, "HTTP 500: db gone")
	_, err = status(200, `{"nodes":[{"name":"ns~a","provision_state":["active"]}]}`).Nodes(t.Context())
	require.ErrorContains(t, err, "node ns~a: field provision_state: want a string")

	hang = make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(hang)
	begin := time.Now()
	_, err = (&Client{Endpoint: slow.URL, Timeout: 200 * time.Millisecond}).Nodes(context.Background())
	require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	require.Less(t, time.Since(begin), 5*time.Second)
}
