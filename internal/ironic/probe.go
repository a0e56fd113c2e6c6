package ironic

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ProbeResult is what an Ironic API endpoint answered.
type ProbeResult struct {
	URL    string
	Status int   // HTTP status; 0 when nothing answered
	Err    error // why nothing answered (refused, timed out, bad URL)
}

// Answered reports whether an HTTP server answered at all (any status):
// evidence that something still serves there.
func (p ProbeResult) Answered() bool { return p.Err == nil && p.Status != 0 }

func (p ProbeResult) String() string {
	if p.Answered() {
		return fmt.Sprintf("%s answered HTTP %d", p.URL, p.Status)
	}
	return fmt.Sprintf("%s did not answer (%v)", p.URL, p.Err)
}

// NodesURL turns an Ironic endpoint as BMO's IRONIC_ENDPOINT spells it
// ("https://172.22.0.2:6385/v1/", with or without /v1) into the
// /v1/nodes URL Metal3's CI probes. ok is false when it is not an http(s) URL.
func NodesURL(endpoint string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	p := strings.TrimRight(u.Path, "/")
	switch {
	case strings.HasSuffix(p, "/v1/nodes"):
	case strings.HasSuffix(p, "/v1"):
		p += "/nodes"
	default:
		p += "/v1/nodes"
	}
	u.Path, u.RawQuery, u.Fragment = p, "", ""
	return u.String(), true
}

// Probe sends one GET to the /v1/nodes URL of endpoint and waits at most
// timeout. Ironic answers 401 without a token and 200 with auth disabled;
// any answer shows a server is there. It sends no credentials and does not
// verify the certificate (Metal3's Ironic is usually self-signed): it only
// reads the status code. Redirects are not followed.
func Probe(ctx context.Context, endpoint string, timeout time.Duration) ProbeResult {
	u, ok := NodesURL(endpoint)
	if !ok {
		return ProbeResult{URL: endpoint, Err: fmt.Errorf("%q is not an http(s) URL", endpoint)}
	}
	p := ProbeResult{URL: u}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		p.Err = fmt.Errorf("building request for %s: %w", u, err)
		return p
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		p.Err = err
		return p
	}
	_ = resp.Body.Close()
	p.Status = resp.StatusCode
	return p
}

var probeClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport: &http.Transport{
		Proxy:           http.ProxyFromEnvironment,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // reachability probe, see above
	},
}
