package webhook

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestLiveByVersion checks each case of the freshness proof: an unchanged
// object is the cached copy itself, a changed or uncached one is read from
// the API server, one the API server no longer has is left out, and more
// than MaxStale changes read the whole kind instead.
func TestLiveByVersion(t *testing.T) {
	ctx := context.Background()
	dep := func(name string) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name, Labels: map[string]string{"v": "live"}}}
	}
	live := newFakeClient(dep("same"), dep("changed"), dep("uncached"))
	var now appsv1.DeploymentList
	require.NoError(t, live.List(ctx, &now))
	rv := map[string]string{}
	for _, d := range now.Items {
		rv[d.Name] = d.ResourceVersion
	}

	cachedCopy := func(name, version string) appsv1.Deployment {
		d := *dep(name)
		d.ResourceVersion = version
		d.Labels = map[string]string{"v": "cached"}
		return d
	}
	cached := []appsv1.Deployment{
		cachedCopy("same", rv["same"]),
		cachedCopy("changed", rv["changed"]+"0"), // an older or newer version than the API server's
		cachedCopy("deleted", "1"),               // gone from the API server
	}
	gvk := appsv1.SchemeGroupVersion.WithKind("Deployment")
	noFull := func(context.Context) ([]*appsv1.Deployment, error) {
		t.Fatal("read the whole kind for 2 changed objects")
		return nil, nil
	}
	got, err := liveByVersion(ctx, live, gvk, "", cached, noFull)
	require.NoError(t, err)
	byName := map[string]*appsv1.Deployment{}
	for _, d := range got {
		byName[d.Name] = d
	}
	require.Len(t, got, 3, "same, changed and uncached; not deleted")
	require.Same(t, &cached[0], byName["same"], "an unchanged object is the cached copy")
	require.Equal(t, "live", byName["changed"].Labels["v"], "a changed object is read from the API server")
	require.Equal(t, "live", byName["uncached"].Labels["v"], "an object the cache lacks is read from the API server")
	require.NotContains(t, byName, "deleted")

	// Namespaced: only that namespace's objects are listed.
	other := dep("elsewhere")
	other.Namespace = "other"
	require.NoError(t, live.Create(ctx, other))
	got, err = liveByVersion(ctx, live, gvk, "other", nil, noFull)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "elsewhere", got[0].Name)

	// More than MaxStale changed: one full read instead of a GET each.
	for i := range MaxStale + 1 {
		require.NoError(t, live.Create(ctx, dep(fmt.Sprintf("new-%02d", i))))
	}
	calls := 0
	full := func(context.Context) ([]*appsv1.Deployment, error) {
		calls++
		return []*appsv1.Deployment{dep("from-full")}, nil
	}
	got, err = liveByVersion(ctx, live, gvk, "apps", cached, full)
	require.NoError(t, err)
	require.Equal(t, 1, calls)
	require.Equal(t, "from-full", got[0].Name)

	// A failed metadata list fails the read, naming the kind.
	_, err = liveByVersion(ctx, failingReader{live}, gvk, "", cached, noFull)
	require.ErrorContains(t, err, "listing Deployments in the cluster (metadata)")
}

// failingReader fails every List.
type failingReader struct{ client.Reader }

func (failingReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return fmt.Errorf("connection refused")
}
