package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// HostLister reads the BareMetalHosts of a namespace from the API server.
type HostLister interface {
	ListHosts(ctx context.Context, ns string) ([]*bmov1alpha1.BareMetalHost, error)
}

// fullHosts lists every host in full through a client.Reader: what the
// live confirmation did before HostProjection, and what it does when the
// Handler has no LiveHosts (unit tests with fake clients).
type fullHosts struct{ r client.Reader }

func (f fullHosts) ListHosts(ctx context.Context, ns string) ([]*bmov1alpha1.BareMetalHost, error) {
	var l bmov1alpha1.BareMetalHostList
	if err := f.r.List(ctx, &l, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing BareMetalHosts in %s: %w", ns, err)
	}
	return pointers(l.Items), nil
}

// DefaultHostPageSize is how many hosts one page of HostProjection holds:
// about 1 MB of JSON per page with a realistic status.
const DefaultHostPageSize = 500

// HostProjection lists BareMetalHosts from the API server as JSON and
// decodes only what the verdict reads (hostView), skipping the rest of each
// object (spec.bmc, status.hardwareDetails, managedFields...), which is
// most of its bytes. BareMetalHosts are a CRD, so the API server serves
// them in JSON only. Pages of PageSize are read one after the other from
// the same snapshot (the continue token pins its resourceVersion); the
// next page is requested as soon as a page's list metadata arrives, so the
// API server encodes it while this one is decoded.
type HostProjection struct {
	rest     rest.Interface
	PageSize int
}

// NewHostProjection builds a HostProjection on cfg. Compression is off:
// the webhook and the API server share a cluster network, and gzip of
// several MB of JSON costs the API server more CPU than the bytes cost to
// send.
func NewHostProjection(cfg *rest.Config) (*HostProjection, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.APIPath = "/apis"
	cfg.GroupVersion = &bmov1alpha1.GroupVersion
	cfg.NegotiatedSerializer = clientgoscheme.Codecs.WithoutConversion()
	cfg.AcceptContentTypes = "application/json"
	cfg.ContentType = "application/json"
	cfg.DisableCompression = true
	rc, err := rest.RESTClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the BareMetalHost client: %w", err)
	}
	return &HostProjection{rest: rc, PageSize: DefaultHostPageSize}, nil
}

// hostView is what Decide reads of a BareMetalHost (HandedOver,
// hostsafety.Assess): TestHostViewKeepsEveryHazard checks that a host
// reduced to it gets the same hazards as the full object.
type hostView struct {
	Metadata struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		ResourceVersion   string            `json:"resourceVersion"`
		Annotations       map[string]string `json:"annotations"`
		DeletionTimestamp *metav1.Time      `json:"deletionTimestamp"`
	} `json:"metadata"`
	Spec struct {
		ConsumerRef *corev1.ObjectReference `json:"consumerRef"`
	} `json:"spec"`
	Status struct {
		OperationalStatus bmov1alpha1.OperationalStatus `json:"operationalStatus"`
		ErrorType         bmov1alpha1.ErrorType         `json:"errorType"`
		PoweredOn         bool                          `json:"poweredOn"`
		Provisioning      struct {
			State bmov1alpha1.ProvisioningState `json:"state"`
		} `json:"provisioning"`
	} `json:"status"`
}

func (v *hostView) host() *bmov1alpha1.BareMetalHost {
	h := &bmov1alpha1.BareMetalHost{}
	h.Name, h.Namespace, h.ResourceVersion = v.Metadata.Name, v.Metadata.Namespace, v.Metadata.ResourceVersion
	h.Annotations, h.DeletionTimestamp = v.Metadata.Annotations, v.Metadata.DeletionTimestamp
	h.Spec.ConsumerRef = v.Spec.ConsumerRef
	h.Status.OperationalStatus, h.Status.ErrorType, h.Status.PoweredOn = v.Status.OperationalStatus, v.Status.ErrorType, v.Status.PoweredOn
	h.Status.Provisioning.State = v.Status.Provisioning.State
	return h
}

// page is one page of the list: its hosts, or the error that ended it.
type page struct {
	hosts []*bmov1alpha1.BareMetalHost
	err   error
}

// ListHosts returns every host of ns, each reduced to hostView, as the API
// server has them now (a consistent read: the first page has no
// resourceVersion).
func (p *HostProjection) ListHosts(ctx context.Context, ns string) ([]*bmov1alpha1.BareMetalHost, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends a prefetch nobody reads after an error
	var out []*bmov1alpha1.BareMetalHost
	next := p.fetch(ctx, ns, "")
	for next != nil {
		ch := next
		next = nil
		var pg page
		select {
		case pg = <-ch.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if pg.err != nil {
			return nil, fmt.Errorf("listing BareMetalHosts in %s: %w", ns, pg.err)
		}
		out = append(out, pg.hosts...)
		if c := <-ch.cont; c != nil {
			next = c
		}
	}
	return out, nil
}

// fetching is a page under way: cont yields the fetch of the next page
// (nil at the last one) once the list metadata is read, done the page.
type fetching struct {
	cont chan *fetching
	done chan page
}

func (p *HostProjection) fetch(ctx context.Context, ns, cont string) *fetching {
	f := &fetching{cont: make(chan *fetching, 1), done: make(chan page, 1)}
	go func() {
		sent := false
		startNext := func(c string) {
			if sent {
				return
			}
			sent = true
			if c == "" {
				f.cont <- nil
				return
			}
			f.cont <- p.fetch(ctx, ns, c)
		}
		hosts, err := p.readPage(ctx, ns, cont, startNext)
		if !sent {
			// An error, or a list with no metadata: nothing follows.
			sent = true
			f.cont <- nil
		}
		f.done <- page{hosts: hosts, err: err}
	}()
	return f
}

// readPage reads one page, calling onContinue with the list's continue
// token as soon as it is decoded (before the items when the API server
// sends metadata first, as it does).
func (p *HostProjection) readPage(ctx context.Context, ns, cont string, onContinue func(string)) ([]*bmov1alpha1.BareMetalHost, error) {
	limit := p.PageSize
	if limit <= 0 {
		limit = DefaultHostPageSize
	}
	req := p.rest.Get().Namespace(ns).Resource("baremetalhosts").
		Param("limit", strconv.Itoa(limit)).SetHeader("Accept", "application/json")
	if cont != "" {
		req = req.Param("continue", cont)
	}
	body, err := req.Stream(ctx)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	hosts, err := decodeHostList(body, onContinue)
	if err != nil {
		return nil, err
	}
	// Drain so the connection is reused.
	_, _ = io.Copy(io.Discard, body)
	return hosts, nil
}

// decodeHostList decodes a BareMetalHostList stream into hosts, calling
// onContinue with metadata.continue when the list metadata is read.
func decodeHostList(r io.Reader, onContinue func(string)) ([]*bmov1alpha1.BareMetalHost, error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	var hosts []*bmov1alpha1.BareMetalHost
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("decoding the list: %w", err)
		}
		key, _ := tok.(string)
		switch key {
		case "metadata":
			var m metav1.ListMeta
			if err := dec.Decode(&m); err != nil {
				return nil, fmt.Errorf("decoding the list metadata: %w", err)
			}
			onContinue(m.Continue)
		case "items":
			tok, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("decoding the items: %w", err)
			}
			if tok == nil { // "items": null
				continue
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				return nil, fmt.Errorf("decoding the items: got %v, want an array", tok)
			}
			for dec.More() {
				var v hostView
				if err := dec.Decode(&v); err != nil {
					return nil, fmt.Errorf("decoding a BareMetalHost: %w", err)
				}
				hosts = append(hosts, v.host())
			}
			if err := expectDelim(dec, ']'); err != nil {
				return nil, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("decoding the list's %q: %w", key, err)
			}
		}
	}
	return hosts, expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("decoding the list: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("decoding the list: got %v, want %q", tok, want)
	}
	return nil
}
