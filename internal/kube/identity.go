package kube

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// IdentityNamespace is the namespace whose UID identifies a cluster: every
// API server creates it once, with a UID of its own, and it is never
// deleted. Two kubeconfigs (or contexts, or host names) that reach one API
// server read the same UID.
const IdentityNamespace = "kube-system"

// Identity names one cluster however it is reached.
type Identity struct {
	// UID is the UID of the kube-system Namespace.
	UID string `json:"uid"`
	// Server is the API server URL it was read through (for messages only:
	// localhost and 127.0.0.1, or two proxies, are one cluster).
	Server string `json:"server,omitempty"`
}

func (i Identity) String() string {
	return fmt.Sprintf("server %s, kube-system UID %s", i.Server, i.UID)
}

// Same reports whether a and b are one cluster (an unread identity is never
// the same as anything).
func (i Identity) Same(o Identity) bool { return i.UID != "" && i.UID == o.UID }

// ReadIdentity reads the identity of the cluster c talks to; server is the
// URL c uses (kept for messages).
func ReadIdentity(ctx context.Context, c client.Reader, server string) (Identity, error) {
	ns := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: IdentityNamespace}, ns); err != nil {
		return Identity{}, fmt.Errorf("reading the %s Namespace (the cluster's identity) through %s: %w", IdentityNamespace, server, err)
	}
	if ns.UID == "" {
		return Identity{}, fmt.Errorf("the %s Namespace read through %s has no UID", IdentityNamespace, server)
	}
	return Identity{UID: string(ns.UID), Server: server}, nil
}

// Identity resolves t and reads its cluster's identity.
func (t Cluster) Identity(ctx context.Context, r Rate) (Identity, error) {
	c, cfg, err := t.Client(r)
	if err != nil {
		return Identity{}, err
	}
	id, err := ReadIdentity(ctx, c, cfg.Host)
	if err != nil {
		return Identity{}, fmt.Errorf("%s: %w", t, err)
	}
	return id, nil
}

// Resolved is what a Cluster resolves to by kubectl's rules, pinned so that
// a later command reaches the same cluster whatever $KUBECONFIG or the
// current context are then.
type Resolved struct {
	// Kubeconfig is the absolute path of the kubeconfig file; empty when
	// several files are merged ($KUBECONFIG with a list) or none is used
	// (in-cluster config).
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Files lists every kubeconfig file that was merged, absolute.
	Files []string `json:"files,omitempty"`
	// Context is the context used (--context, else the current context).
	Context string `json:"context,omitempty"`
}

// Resolve reports which kubeconfig file(s) and context t uses.
func (t Cluster) Resolve() (Resolved, error) {
	var r Resolved
	rules := t.rules()
	if t.Kubeconfig != "" {
		r.Files = []string{t.Kubeconfig}
	} else {
		for _, f := range rules.GetLoadingPrecedence() {
			if _, err := os.Stat(f); err == nil {
				r.Files = append(r.Files, f)
			}
		}
	}
	for i, f := range r.Files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return Resolved{}, fmt.Errorf("kubeconfig %s: %w", f, err)
		}
		r.Files[i] = abs
	}
	if len(r.Files) == 1 {
		r.Kubeconfig = r.Files[0]
	}
	r.Context = t.Context
	if r.Context == "" && len(r.Files) > 0 {
		raw, err := t.loader().RawConfig()
		if err != nil {
			return Resolved{}, fmt.Errorf("loading kubeconfig %s: %w", strings.Join(r.Files, string(filepath.ListSeparator)), err)
		}
		r.Context = raw.CurrentContext
	}
	return r, nil
}
