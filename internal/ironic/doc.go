// Package ironic decides whether Ironic still runs in a cluster, from listed
// workloads (docs/facts.md#ironic-and-keepalived). Two live Ironic/dnsmasq/keepalived
// instances on one provisioning network fight over the VIP and DHCP, so the
// source's Ironic must be gone before the target's takes over. The webhook,
// preflight and the move driver share these rules.
package ironic
