package ironic

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// APIProbe is the answer of Ironic's API to one unauthenticated GET of
// /v1/nodes: 401 means the VIP answers and auth is enforced (Metal3 CI's
// post-move check), 200 that auth is disabled.
type APIProbe struct {
	URL    string
	Status int   // HTTP status, 0 on transport error
	Err    error // transport error
}

// Problem says what is wrong with the answer; "" when Ironic answered 200 or 401.
func (p *APIProbe) Problem() string {
	switch {
	case p.Err != nil:
		return fmt.Sprintf("Ironic API %s did not answer: %v", p.URL, p.Err)
	case p.Status != http.StatusOK && p.Status != http.StatusUnauthorized:
		return fmt.Sprintf("Ironic API %s answered HTTP %d, expected 401 (auth enforced) or 200", p.URL, p.Status)
	}
	return ""
}

// ProbeAPI calls GET <url>/v1/nodes once (url may already end in /v1 or
// /v1/nodes), with a 10 s deadline.
func ProbeAPI(ctx context.Context, url string) *APIProbe {
	u := strings.TrimRight(url, "/")
	switch {
	case strings.HasSuffix(u, "/v1/nodes"):
	case strings.HasSuffix(u, "/v1"):
		u += "/nodes"
	default:
		u += "/v1/nodes"
	}
	p := &APIProbe{URL: u}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		p.Err = fmt.Errorf("building request for %s: %w", u, err)
		return p
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		p.Err = err
		return p
	}
	_ = resp.Body.Close()
	p.Status = resp.StatusCode
	return p
}

// apiClient does not follow redirects: the VIP itself must answer. It skips
// certificate verification on purpose: Metal3's Ironic usually has a
// self-signed certificate, the probe sends no credentials and only reads
// the status code to prove the VIP answers.
var apiClient = &http.Client{
	Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
	Transport: &http.Transport{
		Proxy:           http.ProxyFromEnvironment,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // reachability probe, see above
	},
}
