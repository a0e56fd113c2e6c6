package kube

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func TestIdentitySame(t *testing.T) {
	a := Identity{UID: "u1", Server: "https://127.0.0.1:6443"}
	require.True(t, a.Same(Identity{UID: "u1", Server: "https://localhost:6443"}), "one UID through two URLs is one cluster")
	require.False(t, a.Same(Identity{UID: "u2", Server: a.Server}), "two UIDs behind one URL (a proxy) are two clusters")
	require.False(t, Identity{}.Same(Identity{}), "unread identities are never the same")
}

func TestReadIdentity(t *testing.T) {
	c := fake.NewClientBuilder().WithObjects(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: "abc"}}).Build()
	id, err := ReadIdentity(context.Background(), c, "https://x")
	require.NoError(t, err)
	require.Equal(t, Identity{UID: "abc", Server: "https://x"}, id)
	_, err = ReadIdentity(context.Background(), fake.NewClientBuilder().Build(), "https://y")
	require.ErrorContains(t, err, "reading the kube-system Namespace (the cluster's identity) through https://y")
}

func TestResolve(t *testing.T) {
	path := writeKubeconfig(t)
	r, err := Cluster{Kubeconfig: path}.Resolve()
	require.NoError(t, err)
	require.Equal(t, Resolved{Kubeconfig: path, Files: []string{path}, Context: "ctx-a"}, r)
	r, err = Cluster{Kubeconfig: path, Context: "ctx-b"}.Resolve()
	require.NoError(t, err)
	require.Equal(t, "ctx-b", r.Context)

	// $KUBECONFIG with one file (relative) pins that file, absolute.
	dir := filepath.Dir(path)
	t.Chdir(dir)
	t.Setenv("KUBECONFIG", "kubeconfig")
	r, err = Cluster{}.Resolve()
	require.NoError(t, err)
	require.Equal(t, path, r.Kubeconfig)
	require.Equal(t, "ctx-a", r.Context)
	// Two files merged: no single file to pin, both listed.
	other := writeKubeconfig(t)
	t.Setenv("KUBECONFIG", path+string(filepath.ListSeparator)+other)
	r, err = Cluster{}.Resolve()
	require.NoError(t, err)
	require.Empty(t, r.Kubeconfig)
	require.Equal(t, []string{path, other}, r.Files)
}
