package mover

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/cluster-api/cmd/clusterctl/client/cluster"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// countingProxy is a clusterctl Proxy whose NewClient fails while fail is
// set and counts the clients it builds; the other methods are unused.
type countingProxy struct {
	cluster.Proxy
	built int
	fail  bool
}

func (p *countingProxy) NewClient(context.Context) (client.Client, error) {
	if p.fail {
		return nil, errors.New("connection refused")
	}
	p.built++
	return fake.NewClientBuilder().Build(), nil
}

func TestSharedClientProxyBuildsOneClient(t *testing.T) {
	ctx := context.Background()
	inner := &countingProxy{fail: true}
	p := newSharedClientProxy(inner)

	_, err := p.NewClient(ctx)
	require.ErrorContains(t, err, "connection refused", "a failed build is returned as clusterctl's is")
	inner.fail = false
	first, err := p.NewClient(ctx)
	require.NoError(t, err, "a failed build is not kept: the next call builds again")
	for range 3 {
		c, err := p.NewClient(ctx)
		require.NoError(t, err)
		require.Same(t, first, c)
	}
	require.Equal(t, 1, inner.built)
}
