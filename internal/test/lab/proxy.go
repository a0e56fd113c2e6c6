package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/kube"
)

// ServiceProxy is a STAND-IN for kube-proxy, for the Services of one
// namespace: it listens on each Service's ClusterIP and port (the lab's
// Service range is on loopback) and forwards every connection to a ready pod
// the Service selects, on the pod's IP and target port, where a process of
// the test serves what the pod would. kube-proxy itself needs a node's
// network stack; and the endpoint controllers cannot publish the pods'
// loopback IPs (the API server refuses loopback endpoint addresses), so the
// stand-in selects the pods itself, as the endpoint slice controller would.
type ServiceProxy struct {
	c         client.Client
	ns        string
	listeners []net.Listener
	wg        sync.WaitGroup
}

// ProxyServices starts forwarding for every Service of ns that has a
// selector and a ClusterIP. Stop ends it.
func ProxyServices(ctx context.Context, c client.Client, ns string) (*ServiceProxy, error) {
	p := &ServiceProxy{c: c, ns: ns}
	svcs := &corev1.ServiceList{}
	if err := c.List(ctx, svcs, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing Services in %s: %w", ns, err)
	}
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		ip := net.ParseIP(svc.Spec.ClusterIP)
		if len(svc.Spec.Selector) == 0 || ip == nil || !ip.IsLoopback() {
			continue
		}
		for _, port := range svc.Spec.Ports {
			addr := net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(port.Port)))
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				p.Stop()
				return nil, fmt.Errorf("kube-proxy stand-in: listening on Service %s/%s %s: %w", ns, svc.Name, addr, err)
			}
			p.listeners = append(p.listeners, ln)
			sel := labels.SelectorFromSet(svc.Spec.Selector)
			target := port.TargetPort
			p.wg.Go(func() {
				p.serve(ln, sel, target)
			})
		}
	}
	if len(p.listeners) == 0 {
		return nil, fmt.Errorf("kube-proxy stand-in: no Service with a selector and a loopback ClusterIP in %s", ns)
	}
	return p, nil
}

func (p *ServiceProxy) serve(ln net.Listener, sel labels.Selector, target intstr.IntOrString) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return // listener closed
		}
		go p.forward(conn, sel, target)
	}
}

// forward connects conn to a ready pod the Service selects, picked at
// random as kube-proxy's iptables mode does.
func (p *ServiceProxy) forward(conn net.Conn, sel labels.Selector, target intstr.IntOrString) {
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	backends, err := p.backends(ctx, sel, target)
	if err != nil || len(backends) == 0 {
		return // like a Service without ready endpoints: the connection is refused
	}
	up, err := (&net.Dialer{}).DialContext(ctx, "tcp", backends[rand.IntN(len(backends))])
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, conn); closeWrite(up); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, up); closeWrite(conn); done <- struct{}{} }()
	<-done
	<-done
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// backends are ip:port of the ready, not terminating pods sel selects, with
// the target port resolved by name against the pod's containers.
func (p *ServiceProxy) backends(ctx context.Context, sel labels.Selector, target intstr.IntOrString) ([]string, error) {
	pods := &corev1.PodList{}
	if err := p.c.List(ctx, pods, client.InNamespace(p.ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	var out []string
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.DeletionTimestamp != nil || pod.Status.PodIP == "" || !kube.PodReady(pod) {
			continue
		}
		port, ok := resolvePort(pod, target)
		if !ok {
			continue
		}
		out = append(out, net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(port)))
	}
	return out, nil
}

func resolvePort(p *corev1.Pod, target intstr.IntOrString) (int, bool) {
	if target.Type == intstr.Int {
		return target.IntValue(), target.IntValue() > 0
	}
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == target.StrVal {
				return int(cp.ContainerPort), true
			}
		}
	}
	return 0, false
}

// Stop closes the listeners and waits for the accept loops.
func (p *ServiceProxy) Stop() {
	if p == nil {
		return
	}
	var errs []error
	for _, ln := range p.listeners {
		errs = append(errs, ln.Close())
	}
	_ = errors.Join(errs...)
	p.wg.Wait()
}
