package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pivotcheck/pivotcheck/fn"
)

func newFnCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "fn [CONFIG.yaml [FILE...]]",
		Short:   "The pivot-prep KRM function: makes Metal3 management-cluster manifests pivot-ready",
		Long:    fnHelp(),
		Example: fnExample,
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			// Bad input must never crash a pipeline with a stack trace.
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("pivotcheck fn cannot process this input: %v", r)
				}
			}()
			if len(args) == 0 {
				return fn.RunResourceListLog(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
			}
			return fn.RunStandalone(args[0], args[1:], cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
}

// fnHelp is the function's own documentation, what `kpt fn doc` and a
// function catalog show: what it changes, its config, how to run it.
func fnHelp() string {
	return `pivot-prep: a KRM function that makes Metal3 management-cluster manifests
pivot-ready, so that clusterctl move sees every kind, Ironic keeps its
endpoint IP across the move, and nothing is left behind or garbage-collected.

What it changes (one result per change or hazard; error results exit 1):
  - CRDs: clusterctl labels on the CAPM3 (Metal3*), IPAM (ipam.metal3.io) and
    BMO (metal3.io) CRDs - clusterctl.cluster.x-k8s.io, .../move,
    .../move-hierarchy and cluster.x-k8s.io/provider as each kind needs
    (never a provider label on BMO CRDs).
  - Ironic: adds the ironic-endpoint-keepalived container to the Ironic
    Deployment/DaemonSet as BMO's keepalived component does, with
    PROVISIONING_IP / PROVISIONING_INTERFACE when configured; IrSO Ironic
    resources get spec.networking.ipAddressManager: keepalived.
  - Owners: spec.clusterName on IPPools (and CAPM3 <= 1.13 data templates)
    one Cluster uses; the clusterctl move label on objects nothing owns
    (BMC and user-data Secrets, shared pools); removes uid-carrying
    ownerReferences, which dangle in a new cluster.
Kptfile and config.kubernetes.io/local-config objects are skipped; running the
function on its own output changes nothing.

Config (apiVersion fn.pivotcheck.dev/v1alpha1, kind PivotPrep; unknown fields
are errors; no config means the defaults):
  spec.labels.disabled                     turn CRD labelling off
  spec.labels.noDefaults                   drop the built-in CAPM3/IPAM/BMO rules
  spec.labels.overwriteProvider            replace a conflicting cluster.x-k8s.io/provider
  spec.labels.rules[]                      {group, kind ("" all, "Metal3*" prefix), labels}; tried first
  spec.keepalived.disabled                 do not add the keepalived container
  spec.keepalived.image                    default ` + fn.DefaultKeepalivedImage + ` for an added container; when set, also replaces an existing one's
  spec.keepalived.provisioningIP           IPv4 or IPv6 -> PROVISIONING_IP
  spec.keepalived.provisioningInterface    e.g. eth2 -> PROVISIONING_INTERFACE
  spec.keepalived.ironicSelector           names, podLabels, containerNames of the Ironic workload
  spec.owners.disabled                     turn the owner repair off
  spec.owners.keepUIDOwnerReferences       keep uid-carrying ownerReferences
kpt's ConfigMap form (kpt fn eval -- key=value) takes provisioningIP,
provisioningInterface, keepalivedImage, disableLabels, disableKeepalived,
disableOwners, overwriteProvider and keepUIDOwnerReferences.

Input and output: without arguments a KRM ResourceList on stdin, written back
with results on stdout (kpt fn eval/render, kustomize exec transformers);
unless kpt is the caller, warnings also go to stderr (kustomize never shows
results). With arguments the first is the config (PivotPrep or ConfigMap) and
the rest are manifest files ("-" or none: stdin): objects go to stdout,
results to stderr.`
}

const fnExample = `  # kpt, declaratively: the Kptfile pipeline runs "exec: ./bin/pivotcheck fn"
  kpt fn render examples/pivot-prep-kpt --allow-exec
  # kpt, imperatively, with the ConfigMap form of the config
  kpt fn eval examples/pivot-prep-kpt --exec "./bin/pivotcheck fn" -- provisioningIP=172.22.0.2 provisioningInterface=eth2
  # kustomize exec transformer (standalone kustomize; kubectl kustomize skips exec functions)
  kustomize build --enable-alpha-plugins --enable-exec examples/pivot-prep-kustomize
  # standalone: config first, then manifest files (or - for stdin)
  pivotcheck fn examples/pivot-prep-kpt/pivot-prep.yaml crds.yaml ironic.yaml > fixed.yaml`
