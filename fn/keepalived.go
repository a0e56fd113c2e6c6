package fn

import (
	"maps"
	"slices"
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// KeepalivedContainer is the container name BMO's components/keepalived adds.
const KeepalivedContainer = "ironic-endpoint-keepalived"

const irsoGroup = "ironic.metal3.io"

// keepalivedSecurityContext is the securityContext of BMO v0.13.2's
// components/keepalived patch, field for field: keepalived needs
// NET_ADMIN/NET_BROADCAST/NET_RAW (through file capabilities, hence
// allowPrivilegeEscalation) and runs as the image's user 65532.
func keepalivedSecurityContext() *kyaml.Node {
	return newMap(
		key("allowPrivilegeEscalation"), newBool(true),
		key("capabilities"), newMap(
			key("drop"), newSeq(newString("ALL")),
			key("add"), newSeq(newString("NET_ADMIN"), newString("NET_BROADCAST"), newString("NET_RAW")),
		),
		key("privileged"), newBool(false),
		key("runAsUser"), newInt("65532"),
		key("runAsGroup"), newInt("65532"),
	)
}

// isIronicWorkload applies the selector to a Deployment or DaemonSet.
func isIronicWorkload(sel IronicSelector, o *object, podSpec *kyaml.Node) bool {
	if slices.Contains(sel.Names, o.name) {
		return true
	}
	if len(sel.PodLabels) > 0 {
		labels := path(o.node, "spec", "template", "metadata", "labels")
		all := true
		for k, v := range sel.PodLabels {
			if n := get(labels, k); n == nil || str(n) != v {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return ironicContainer(sel, podSpec) != nil
}

// ironicContainer is the first container named like the selector says.
func ironicContainer(sel IronicSelector, podSpec *kyaml.Node) *kyaml.Node {
	for _, want := range sel.ContainerNames {
		for _, c := range items(get(podSpec, "containers")) {
			if str(get(c, "name")) == want {
				return c
			}
		}
	}
	return nil
}

func addKeepalived(cfg *Config, objs []*object, idx *index, rs *results) {
	for _, o := range objs {
		switch {
		case o.group == "apps" && (o.kind == "Deployment" || o.kind == "DaemonSet"):
			keepaliveWorkload(cfg, o, idx, rs)
		case o.group == irsoGroup && o.kind == "Ironic":
			keepaliveIrSO(cfg, o, rs)
		}
	}
}

func keepaliveWorkload(cfg *Config, o *object, idx *index, rs *results) {
	podSpec := path(o.node, "spec", "template", "spec")
	if !isMap(podSpec) || !isIronicWorkload(cfg.selector, o, podSpec) {
		return
	}
	const podPath = "spec.template.spec"
	ironic := ironicContainer(cfg.selector, podSpec)
	if ironic == nil {
		rs.warn(o, podPath+".containers", "looks like an Ironic workload but has no container named %v to copy envFrom from; keepalived not added (set spec.keepalived.ironicSelector.containerNames)", cfg.selector.ContainerNames)
		return
	}
	switch hn := get(podSpec, "hostNetwork"); {
	case hn == nil:
		rs.warn(o, podPath+".hostNetwork", "hostNetwork is not set: keepalived and Ironic must run in the host network so the provisioning IP lands on a node interface; set hostNetwork: true")
	case str(hn) != "true":
		rs.err(o, podPath+".hostNetwork", "hostNetwork is %q, not true: the Ironic endpoint IP that keepalived manages must live on a node interface; set hostNetwork: true", str(hn))
		return
	}
	containers := get(podSpec, "containers")
	var kc *kyaml.Node
	count := 0
	for _, c := range items(containers) {
		if str(get(c, "name")) == KeepalivedContainer {
			if kc == nil {
				kc = c
			}
			count++
		}
	}
	if count > 1 {
		rs.err(o, podPath+".containers", "has %d containers named %s; the API server rejects duplicate container names", count, KeepalivedContainer)
		return
	}
	envFrom := get(ironic, "envFrom")
	if kc == nil {
		kc = newMap(key("name"), newString(KeepalivedContainer), key("image"), newString(cfg.Keepalived.Image))
		if env := desiredEnv(cfg); len(env) > 0 {
			kc.Content = append(kc.Content, key("env"), newSeq(env...))
		}
		if envFrom != nil {
			kc.Content = append(kc.Content, key("envFrom"), deepCopy(envFrom))
		}
		kc.Content = append(kc.Content, key("securityContext"), keepalivedSecurityContext())
		containers.Content = append(containers.Content, kc)
		rs.info(o, podPath+".containers", "added container %s (image %s, envFrom copied from container %s%s): it keeps the Ironic endpoint IP on the node that runs Ironic, so the IP follows Ironic to the target cluster after the pivot", KeepalivedContainer, cfg.Keepalived.Image, str(get(ironic, "name")), envNote(cfg))
	} else {
		fieldBase := podPath + ".containers[name=" + KeepalivedContainer + "]"
		if cfg.imageGiven && str(get(kc, "image")) != cfg.Keepalived.Image {
			old := str(get(kc, "image"))
			set(kc, "image", newString(cfg.Keepalived.Image))
			rs.info(o, fieldBase+".image", "changed keepalived image from %q to %q as configured", old, cfg.Keepalived.Image)
		}
		if want := keepalivedSecurityContext(); !equalNodes(get(kc, "securityContext"), want) {
			set(kc, "securityContext", want)
			rs.info(o, fieldBase+".securityContext", "set the securityContext BMO's components/keepalived uses: keepalived needs NET_ADMIN, NET_BROADCAST and NET_RAW")
		}
		if envFrom != nil && !equalNodes(get(kc, "envFrom"), envFrom) {
			set(kc, "envFrom", deepCopy(envFrom))
			rs.info(o, fieldBase+".envFrom", "copied envFrom from container %s: keepalived reads PROVISIONING_IP and PROVISIONING_INTERFACE from the same configuration as Ironic", str(get(ironic, "name")))
		}
		for _, e := range desiredEnv(cfg) {
			name, value := str(get(e, "name")), str(get(e, "value"))
			switch changed, ok := setEnv(kc, name, value); {
			case !ok:
				rs.err(o, fieldBase+".env", "cannot set %s: env of the keepalived container is not a list", name)
			case changed:
				rs.info(o, fieldBase+".env", "set %s=%s on the keepalived container as configured", name, value)
			}
		}
	}
	warnMissingProvisioning(cfg, o, idx, envFrom, rs)
}

// desiredEnv is the explicit env the config asks for, sorted by name.
func desiredEnv(cfg *Config) []*kyaml.Node {
	var env []*kyaml.Node
	if v := cfg.Keepalived.ProvisioningInterface; v != "" {
		env = append(env, newMap(key("name"), newString("PROVISIONING_INTERFACE"), key("value"), newString(v)))
	}
	if v := cfg.Keepalived.ProvisioningIP; v != "" {
		env = append(env, newMap(key("name"), newString("PROVISIONING_IP"), key("value"), newString(v)))
	}
	return env
}

func envNote(cfg *Config) string {
	var s string
	if cfg.Keepalived.ProvisioningIP != "" {
		s += ", PROVISIONING_IP=" + cfg.Keepalived.ProvisioningIP
	}
	if cfg.Keepalived.ProvisioningInterface != "" {
		s += ", PROVISIONING_INTERFACE=" + cfg.Keepalived.ProvisioningInterface
	}
	return s
}

// setEnv sets env var name to value on container c, in place; it reports
// whether anything changed and false for ok when env is not a list.
func setEnv(c *kyaml.Node, name, value string) (changed, ok bool) {
	env := get(c, "env")
	if env == nil || (env.Kind == kyaml.ScalarNode && env.Tag == kyaml.NodeTagNull) {
		env = newSeq()
		set(c, "env", env)
	}
	if env.Kind != kyaml.SequenceNode {
		return false, false
	}
	for _, e := range env.Content {
		if str(get(e, "name")) != name {
			continue
		}
		if str(get(e, "value")) == value && get(e, "valueFrom") == nil {
			return false, true
		}
		// Explicit value wins: drop valueFrom, which the API server rejects alongside value.
		var kept []*kyaml.Node
		for i := 0; i+1 < len(e.Content); i += 2 {
			if e.Content[i].Value != "valueFrom" {
				kept = append(kept, e.Content[i], e.Content[i+1])
			}
		}
		e.Content = kept
		set(e, "value", newString(value))
		return true, true
	}
	env.Content = append(env.Content, newMap(key("name"), newString(name), key("value"), newString(value)))
	return true, true
}

// warnMissingProvisioning warns when keepalived will start without
// PROVISIONING_IP or PROVISIONING_INTERFACE: not configured explicitly and
// not in any ConfigMap of the bundle its envFrom names. ConfigMaps missing
// from the bundle are not judged (they may exist in the cluster).
func warnMissingProvisioning(cfg *Config, o *object, idx *index, envFrom *kyaml.Node, rs *results) {
	need := map[string]bool{}
	if cfg.Keepalived.ProvisioningIP == "" {
		need["PROVISIONING_IP"] = true
	}
	if cfg.Keepalived.ProvisioningInterface == "" {
		need["PROVISIONING_INTERFACE"] = true
	}
	if len(need) == 0 {
		return
	}
	var sources []string
	for _, ef := range items(envFrom) {
		name := str(path(ef, "configMapRef", "name"))
		if name == "" {
			return // a Secret or something we cannot read: do not guess
		}
		cm := idx.get("", "ConfigMap", o.namespace, name)
		if cm == nil {
			return
		}
		sources = append(sources, name)
		prefix := str(get(ef, "prefix"))
		data := get(cm.node, "data")
		for k := range need {
			if prefix == "" && has(data, k) {
				delete(need, k)
			}
		}
	}
	if len(need) == 0 {
		return
	}
	missing := slices.Sorted(maps.Keys(need))
	rs.warn(o, "spec.template.spec.containers[name="+KeepalivedContainer+"]", "keepalived gets no %v (not configured, not in ConfigMaps %v): set spec.keepalived.provisioningIP/provisioningInterface or add them to the ConfigMap", missing, sources)
}

// keepaliveIrSO enables keepalived in an Ironic Standalone Operator Ironic
// resource through its own API (spec.networking.ipAddressManager), which
// IrSO accepts only with spec.networking.ipAddress and interface set and
// without highAvailability.
func keepaliveIrSO(cfg *Config, o *object, rs *results) {
	spec := get(o.node, "spec")
	if spec != nil && !isMap(spec) && str(spec) != "" {
		rs.err(o, "spec", "spec is not a mapping")
		return
	}
	netw := get(spec, "networking")
	ip, iface := str(get(netw, "ipAddress")), str(get(netw, "interface"))
	mgr := str(get(netw, "ipAddressManager"))
	const f = "spec.networking"
	if mgr == "keepalived" {
		if ip == "" || iface == "" {
			rs.warn(o, f, "keepalived is enabled but IrSO requires both spec.networking.ipAddress and spec.networking.interface")
		}
		return
	}
	if mgr != "" {
		rs.warn(o, f+".ipAddressManager", "ipAddressManager is %q, not keepalived: the Ironic IP will not follow Ironic to the target cluster; set spec.networking.ipAddressManager: keepalived", mgr)
		return
	}
	if ha := str(get(spec, "highAvailability")); ha == "true" {
		rs.warn(o, "spec.highAvailability", "keepalived cannot be enabled: IrSO does not allow keepalived with highAvailability: true; make the Ironic endpoint reachable in the target another way")
		return
	}
	if ip == "" {
		ip = cfg.Keepalived.ProvisioningIP
	}
	if iface == "" {
		iface = cfg.Keepalived.ProvisioningInterface
	}
	if ip == "" || iface == "" {
		rs.warn(o, f, "keepalived not enabled: set spec.networking.ipAddressManager: keepalived together with spec.networking.ipAddress and spec.networking.interface (or give the function provisioningIP and provisioningInterface)")
		return
	}
	if !isMap(spec) {
		spec = ensureMap(o.node, "spec")
	}
	if !isMap(netw) {
		netw = ensureMap(spec, "networking")
	}
	if !isMap(netw) {
		rs.err(o, f, "spec.networking is not a mapping")
		return
	}
	var added []string
	if str(get(netw, "interface")) == "" {
		set(netw, "interface", newString(iface))
		added = append(added, "interface="+iface)
	}
	if str(get(netw, "ipAddress")) == "" {
		set(netw, "ipAddress", newString(ip))
		added = append(added, "ipAddress="+ip)
	}
	set(netw, "ipAddressManager", newString("keepalived"))
	added = append(added, "ipAddressManager=keepalived")
	rs.info(o, f, "set spec.networking %s: IrSO then runs keepalived so the Ironic IP follows Ironic to the target cluster", strings.Join(added, ", "))
}
