package preflight

// Check describes one stable check ID: what it means and how to fix it.
// docs/preflight.md's table follows this list (a test in docs/ checks it).
type Check struct {
	ID      string
	Group   int // the check group (1-9): checks_<group>.go holds its checks
	Meaning string
	Fix     string
}

// Check IDs. They are stable: scripts and `pivotcheck move --skip-check` use them.
const (
	CRDLabelsSource   = "crd-labels-source"
	CRDLabelsTarget   = "crd-labels-target"
	CRDProviderLabel  = "crd-provider-label"
	CRDTargetMissing  = "crd-target-missing"
	CRDTargetVersion  = "crd-target-version"
	ProviderInventory = "provider-inventory"
	BMOTarget         = "bmo-target"
	BMOWebhookTarget  = "bmo-webhook-target"
	BMOVersion        = "bmo-version"
	BMOSource         = "bmo-source"
	NoClusters        = "no-clusters"
	ClusterProvision  = "cluster-provisioned"
	ClusterPaused     = "cluster-paused"
	MachineNodeRef    = "machine-node-ref"
	MachineDeleting   = "machine-deleting"
	Remediation       = "remediation-in-progress"
	HostInProgress    = "host-in-progress"
	HostBusy          = "host-busy"
	HostPendingReboot = "host-pending-reboot"
	HostReinspect     = "host-reinspect"
	HostDeleting      = "host-deleting"
	HostError         = "host-error"
	HostPoweredOn     = "host-powered-on"
	HostDetached      = "host-detached"
	HostForeignPause  = "host-foreign-pause"
	HostLiveISO       = "host-live-iso"
	StatusInvalid     = "status-annotation-invalid"
	StatusMissing     = "status-annotation-missing"
	BlockMove         = "block-move"
	BypassLeft        = "bypass-left"
	IronicSource      = "ironic-source-running"
	IronicExternal    = "ironic-source-external"
	IronicTarget      = "ironic-target"
	KeepalivedTarget  = "keepalived-target"
	KeepalivedVIP     = "keepalived-vip"
	IronicAPI         = "ironic-api"
	OwnerChain        = "owner-chain"
	TargetNamespace   = "target-namespace"
	TargetCollision   = "target-collision"
	SameCluster       = "same-cluster"
	ManualChecks      = "manual-checks"
)

// Catalog lists every check in report order.
var Catalog = []Check{
	{CRDLabelsSource, 1, "A kind that must move has a CRD in the source without `clusterctl.cluster.x-k8s.io` (BareMetalHost also needs `.../move-hierarchy`, HardwareData `.../move`): clusterctl does not see its objects and leaves them behind.", "Label the CRD (`kubectl label crd NAME clusterctl.cluster.x-k8s.io=`), or run the pivotcheck KRM function on the manifests."},
	{CRDLabelsTarget, 1, "Same labels missing in the target (warning): this move works, a later move back would leave the objects behind.", "Label the target's CRD the same way."},
	{CRDProviderLabel, 1, "A BMO (metal3.io) CRD carries `cluster.x-k8s.io/provider` (warning): `clusterctl delete --include-crd` would delete it and every BareMetalHost with it.", "`kubectl label crd NAME cluster.x-k8s.io/provider-`"},
	{CRDTargetMissing, 1, "A kind that must move (BareMetalHost, HardwareData, CAPM3, CAPI, IPAM kinds present in the source) has no CRD in the target.", "Install the provider / BMO in the target (`clusterctl init`, BMO's kustomization) before moving."},
	{CRDTargetVersion, 1, "The target CRD does not serve the source's storage version, in which clusterctl copies the objects.", "Upgrade the provider in the target to a version serving it."},
	{ProviderInventory, 2, "A source provider (clusterctl inventory) is missing in the target or older there: clusterctl move refuses (same rule, reported up front with both versions).", "`clusterctl init` / `clusterctl upgrade` the target to at least the source's versions."},
	{BMOTarget, 2, "The target has no available baremetal-operator Deployment: nobody adopts the hosts after the move.", "Deploy BMO in the target and wait until it is Available."},
	{BMOWebhookTarget, 2, "The target has no validating webhook for BareMetalHosts (warning): status annotations are not validated.", "Deploy BMO with its webhook (and cert-manager) in the target."},
	{BMOVersion, 2, "The target's BMO is older than the source's: the status annotation written by the newer schema is rejected or loses fields (warning when a version cannot be read).", "Upgrade BMO in the target to at least the source's version."},
	{BMOSource, 2, "The source's BareMetalHost webhook (failurePolicy Fail) has no available BMO behind it: clusterctl's pause, annotation and finalizer patches would all be denied mid-move.", "Keep (or bring back) the source BMO until the move is over; delete it only after the move."},
	{NoClusters, 3, "The namespace holds no Cluster (warning): clusterctl moves only objects labelled move/move-hierarchy; the namespace does not exist in the source (error).", "Check -n."},
	{ClusterProvision, 3, "A Cluster is not provisioned the way clusterctl's own check wants (infrastructure provisioned, control plane initialized): clusterctl move refuses.", "Wait until the Cluster is provisioned."},
	{ClusterPaused, 3, "A Cluster is already paused (spec.paused or the paused annotation): clusterctl ≥ 1.12 refuses to start.", "If a failed move left it paused, unpause it (`kubectl patch cluster NAME --type merge -p '{\"spec\":{\"paused\":null}}'`) and re-run."},
	{MachineNodeRef, 3, "A Machine has no status.nodeRef: clusterctl move refuses.", "Wait until the Machine's node joined, or delete the failed Machine."},
	{MachineDeleting, 3, "A Machine is being deleted: its host is being deprovisioned.", "Wait until the deletion finished."},
	{Remediation, 3, "A remediation is in progress (KCP remediation annotation, Machine OwnerRemediated=False or the remediate-machine annotation).", "Wait until the remediation finished."},
	{HostInProgress, 4, "A BareMetalHost is not in a steady provisioning state (registering, inspecting, provisioning...).", "Wait until it reaches provisioned/available/externally provisioned."},
	{HostBusy, 4, "A BareMetalHost has operationalStatus servicing or delayed.", "Wait until servicing/the capacity delay finished."},
	{HostPendingReboot, 4, "A BareMetalHost has a pending `reboot.metal3.io` annotation.", "Wait until BMO rebooted it (the annotation is gone) or remove the annotation."},
	{HostReinspect, 4, "A BareMetalHost has re-inspection requested (`inspect.metal3.io: \"\"`).", "Wait until inspection finished."},
	{HostDeleting, 4, "A BareMetalHost is being deleted.", "Wait until the deletion finished."},
	{HostError, 4, "A BareMetalHost has operationalStatus error.", "Fix the error (BMC credentials, power...) until the host is OK."},
	{HostPoweredOn, 4, "An available host is powered on (warning): it probably runs IPA under fast-track and its IP may change after the move.", "Power it off (`online: false`) before the move, or accept re-inspection."},
	{HostDetached, 4, "A host is detached from Ironic (info).", "Nothing, unless it was not meant to be."},
	{HostLiveISO, 4, "A provisioned (or externally provisioned) host runs a `live-iso` image (warning): BMO v0.13.x registers it in the target's Ironic with the `ramdisk` deploy interface but without its ISO (`instance_info.boot_iso`), and Ironic will not adopt a ramdisk-deploy node without one, so its node ends `adopt failed` and BMO reports a provisioned registration error. Nothing is written to its BMC: the server keeps running, unmanaged.", "Expect it; `pivotcheck move --wait-for-hosts --ironic-url URL` names each such host with Ironic's reason. Re-provisioning the host in the target (or a BMO that registers the ISO) clears it."},
	{HostForeignPause, 5, "A consumed host is paused by someone other than CAPM3: CAPM3 will never write its status annotation, so the target would re-provision the live node.", "Remove the pause annotation (or replace it with a status annotation written by `pivotcheck move`)."},
	{StatusInvalid, 5, "An existing `baremetalhost.metal3.io/status` annotation does not parse into the target BMO's BareMetalHostStatus (unknown fields, servicing, a bad operational status or error type): the target's webhook rejects it.", "Remove the annotation and let CAPM3 / `pivotcheck move` rewrite it."},
	{StatusMissing, 5, "A host will get no status annotation from CAPM3 (not consumed; warning: `pivotcheck move` writes it, plain clusterctl move loses its status). For consumed hosts (info) CAPM3 writes it when the move pauses the Cluster; a consumed host already paused by CAPM3 without it is an error (CAPM3 only annotates hosts it pauses itself).", "Use `pivotcheck move`, which writes it, or accept re-inspection."},
	{BlockMove, 5, "An object carries `clusterctl.cluster.x-k8s.io/block-move`, for which clusterctl waits (about 6 minutes at most) before it copies anything. On consumed hosts (info) it is CAPM3 ≥ 1.14's: set on every host that is not paused, removed once CAPM3 paused the host and wrote its status annotation when the move pauses the Cluster, also when `pivotcheck move` paused the host first. An error when no CAPM3 runs in the source to remove it; a warning on any other object.", "Keep CAPM3 running in the source until the move is over; on other objects, find who set it and wait for them to remove it."},
	{BypassLeft, 5, "pivotcheck's bypass is left in either cluster (warning): the `pivotcheck.dev/allow-unsafe-move` annotation on an object of the namespace, or the label of that name on the namespace. The annotation lets a requester allowed to bypass pause the Cluster (or create the host in the target) unchecked in every later move; the label takes the namespace out of both webhooks.", "Remove it once the write it was meant for is done: `kubectl -n NS annotate KIND NAME pivotcheck.dev/allow-unsafe-move-`, `kubectl label namespace NS pivotcheck.dev/allow-unsafe-move-`."},
	{IronicSource, 6, "Ironic still runs in the source: two Ironic/dnsmasq/keepalived instances on one provisioning network fight over the VIP and DHCP.", "Run the exact command in the finding."},
	{IronicExternal, 6, "No Ironic runs in the source cluster (warning): pivotcheck cannot tell an Ironic already stopped from one running outside the cluster (a kind bootstrap often runs Ironic as local containers); the finding names the endpoint the source BMO is configured with. With `--probe-source-ironic` that endpoint is probed (3 s): an answer from an endpoint the target's BMO does not also use is an error.", "Stop the Ironic outside the cluster, then tell `pivotcheck move` with `--ironic-handover=external --confirm-external-ironic-stopped` (or `--ironic-handover=already-removed`)."},
	{IronicTarget, 6, "No Ironic runs in the target.", "Deploy Ironic in the target (BMO's ironic-deployment with the keepalived component, or IrSO)."},
	{KeepalivedTarget, 6, "The target's Ironic has no keepalived container, or its VIP settings (PROVISIONING_IP+PROVISIONING_INTERFACE or KEEPALIVED_VIRTUAL_IPS) are incomplete.", "Add BMO's components/keepalived and its ConfigMap settings."},
	{KeepalivedVIP, 6, "The target's keepalived VIP settings differ from the source's (error), or the source's could not be read (warning).", "Use the same PROVISIONING_IP / PROVISIONING_INTERFACE (or KEEPALIVED_VIRTUAL_IPS) as the source."},
	{IronicAPI, 6, "`--ironic-url` did not answer 200 or 401 on /v1/nodes.", "Check the VIP, keepalived and Ironic logs in the target."},
	{OwnerChain, 7, "An object that must move (BareMetalHost, its BMC/user-data Secrets, HardwareData, Metal3*, IPAM, Cluster secrets, owned objects) is not in clusterctl's own dry-run plan: no owner chain to a Cluster, or an owner that is not moved (cluster-api #8387).", "Label it `clusterctl.cluster.x-k8s.io/move=`, set spec.clusterName (Metal3DataTemplate, IPPool), or run `pivotcheck move --fix-owners`."},
	{TargetNamespace, 8, "Whether the target namespace exists or clusterctl will create it (info).", "Nothing."},
	{SameCluster, 8, "The source and the target are one cluster (the same `kube-system` Namespace UID), reached through two kubeconfigs, two contexts or two host names: a move would copy the namespace onto itself and then delete it.", "Point `--to-kubeconfig` (and `--to-kubeconfig-context`) at the target cluster."},
	{TargetCollision, 8, "Objects with the same kind and name already exist in the target namespace (warning): clusterctl updates them.", "Expected when re-running after a failed move; otherwise check you point at the right target."},
	{ManualChecks, 9, "What the API cannot show (info): a static IP on the target's provisioning interface, DHCP leases not moved.", "Do the manual check in the finding."},
}
