package mover

import (
	"context"
	"sync"

	"sigs.k8s.io/cluster-api/cmd/clusterctl/client/cluster"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// sharedClientProxy is clusterctl's own Proxy for one cluster, except that
// NewClient builds its API client once and hands the same one out for the
// rest of the move. clusterctl's mover asks for a new client for every
// object it reads, creates or deletes (three per moved object). Each new
// client reloads the kubeconfig and starts with an empty REST mapper, so its
// first request is preceded by API discovery: at a few thousand objects that
// discovery, not the objects, is most of a move's requests. A
// controller-runtime client is safe for concurrent use, and its dynamic REST
// mapper still re-discovers a kind it does not know, so sharing it changes
// what the move costs, not what it does.
type sharedClientProxy struct {
	cluster.Proxy

	mu sync.Mutex
	c  client.Client
}

func newSharedClientProxy(p cluster.Proxy) *sharedClientProxy {
	return &sharedClientProxy{Proxy: p}
}

// NewClient returns the proxy's one client, built by clusterctl's Proxy
// (with its scheme, rate limits and connection retries) on the first call.
// A failed build is not kept: the next call tries again, as clusterctl's
// does.
func (p *sharedClientProxy) NewClient(ctx context.Context) (client.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.c != nil {
		return p.c, nil
	}
	c, err := p.Proxy.NewClient(ctx)
	if err != nil {
		return nil, err
	}
	p.c = c
	return c, nil
}
