package fn

import (
	"maps"
	"slices"
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// Owner-reference repair at build time (docs/facts.md#owner-chains). UIDs do
// not exist yet, so the repair is what clusterctl move reads: the move label,
// spec.clusterName (CAPM3/IPAM then set the Cluster as owner), and removing
// uid-carrying ownerReferences that would be dangling in a new cluster.

const (
	cpGroup    = "controlplane.cluster.x-k8s.io"
	kindM3MT   = "Metal3MachineTemplate"
	kindM3DT   = "Metal3DataTemplate"
	kindIPPool = "IPPool"
)

// softOwnedSuffixes are the Secret names clusterctl moves with their Cluster
// without an owner reference (<cluster>-<suffix>): cluster-api's
// util/secret purposes, which clusterctl's soft ownership parses. The
// function links only kyaml, so it spells them here; a test keeps the two
// lists equal.
var softOwnedSuffixes = []string{"kubeconfig", "ca", "etcd", "sa", "proxy", "apiserver-etcd-client"}

// ownerState is what the passes learn about the bundle.
type ownerState struct {
	idx *index
	// clusters that use an object through the reference chain, by object.
	users map[*object]map[string]string // cluster name -> via (for messages)
	// reachable: objects clusterctl move takes along without our help.
	reachable map[*object]bool
}

// addUser records that cluster uses o through from. A Cluster only owns
// objects in its own namespace, so references across namespaces count for
// nothing.
func (st *ownerState) addUser(o, from *object, cluster, via string) {
	if o == nil || cluster == "" || o.namespace != from.namespace {
		return
	}
	m := st.users[o]
	if m == nil {
		m = map[string]string{}
		st.users[o] = m
	}
	if _, ok := m[cluster]; !ok {
		m[cluster] = via
	}
}

// refTarget reads an object reference ({apiVersion|apiGroup, kind, name,
// namespace}) that points into namespace ns by default.
func refTarget(ref *kyaml.Node, ns string) (group, kind, namespace, name string) {
	if !isMap(ref) {
		return
	}
	group = str(get(ref, "apiGroup"))
	if group == "" {
		group, _ = splitAPIVersion(str(get(ref, "apiVersion")))
	}
	kind, name = str(get(ref, "kind")), str(get(ref, "name"))
	namespace = str(get(ref, "namespace"))
	if namespace == "" {
		namespace = ns
	}
	return
}

func repairOwners(cfg *Config, objs []*object, idx *index, rs *results) {
	st := &ownerState{idx: idx, users: map[*object]map[string]string{}, reachable: map[*object]bool{}}

	// Pass 1: Clusters and what they reference directly.
	cpOwners := map[*object][]string{}
	for _, o := range objs {
		if o.group != capiGroup || o.kind != "Cluster" {
			continue
		}
		st.reachable[o] = true
		spec := get(o.node, "spec")
		for _, f := range []string{"infrastructureRef", "controlPlaneRef"} {
			g, k, ns, n := refTarget(get(spec, f), o.namespace)
			if n == "" {
				continue
			}
			t := idx.get(g, k, ns, n)
			if t == nil {
				rs.warn(o, "spec."+f, "references %s %s/%s, which is not in the bundle (fine if it already exists in the cluster)", k, ns, n)
				continue
			}
			st.reachable[t] = true
			if f == "controlPlaneRef" {
				cpOwners[t] = append(cpOwners[t], o.name)
			}
		}
	}

	// Pass 2: control planes and machine deployments lead to machine templates.
	for _, o := range objs {
		var clusters []string
		var ref *kyaml.Node
		var field string
		switch {
		case o.group == cpGroup && o.kind == "KubeadmControlPlane":
			clusters = cpOwners[o]
			mt := path(o.node, "spec", "machineTemplate")
			if ref, field = path(mt, "spec", "infrastructureRef"), "spec.machineTemplate.spec.infrastructureRef"; ref == nil {
				ref, field = get(mt, "infrastructureRef"), "spec.machineTemplate.infrastructureRef"
			}
		case o.group == capiGroup && (o.kind == "MachineDeployment" || o.kind == "MachineSet"):
			if c := str(path(o.node, "spec", "clusterName")); c != "" {
				clusters = []string{c}
				st.reachable[o] = true
			}
			ref, field = path(o.node, "spec", "template", "spec", "infrastructureRef"), "spec.template.spec.infrastructureRef"
			if g, k, ns, n := refTarget(path(o.node, "spec", "template", "spec", "bootstrap", "configRef"), o.namespace); n != "" {
				if t := idx.get(g, k, ns, n); t != nil {
					st.reachable[t] = true
				}
			}
		default:
			continue
		}
		g, k, ns, n := refTarget(ref, o.namespace)
		if n == "" {
			continue
		}
		t := idx.get(g, k, ns, n)
		if t == nil {
			rs.warn(o, field, "references %s %s/%s, which is not in the bundle (fine if it already exists in the cluster)", k, ns, n)
			continue
		}
		st.reachable[t] = true
		for _, c := range clusters {
			st.addUser(t, o, c, o.kind+" "+o.name)
		}
	}

	// Pass 3: machine templates lead to data templates.
	for _, o := range objs {
		if o.group != infraGroup || o.kind != kindM3MT {
			continue
		}
		dt := path(o.node, "spec", "template", "spec", "dataTemplate")
		_, _, ns, n := refTarget(dt, o.namespace)
		if n == "" {
			continue
		}
		t := idx.get(infraGroup, kindM3DT, ns, n)
		if t == nil {
			rs.warn(o, "spec.template.spec.dataTemplate", "references Metal3DataTemplate %s/%s, which is not in the bundle (fine if it already exists in the cluster)", ns, n)
			continue
		}
		for c := range st.users[o] {
			st.addUser(t, o, c, kindM3MT+" "+o.name)
		}
	}

	// Pass 4: data templates get their cluster; their pools follow.
	for _, o := range objs {
		if o.group == infraGroup && o.kind == kindM3DT {
			c := fixDataTemplate(o, st, rs)
			for _, pool := range poolRefs(get(o.node, "spec")) {
				t := idx.get(ipamGroup, kindIPPool, o.namespace, pool)
				if t == nil {
					rs.warn(o, "spec", "references IPPool %s/%s, which is not in the bundle (fine if it already exists in the cluster)", o.namespace, pool)
					continue
				}
				st.addUser(t, o, c, kindM3DT+" "+o.name)
			}
		}
	}
	for _, o := range objs {
		if o.group == ipamGroup && o.kind == kindIPPool {
			fixClusterName(o, st, rs)
		}
	}

	// Pass 5: Secrets referenced from hosts, and ownerReferences everywhere.
	sharedHostSecrets(objs, st, rs)
	for _, o := range objs {
		if o.group == bmoGroup && o.kind == "BareMetalHost" {
			hostSecrets(o, st, rs)
		}
		fixOwnerReferences(cfg, o, st, rs)
	}
}

// fixDataTemplate makes a Metal3DataTemplate move. CAPM3 1.14 deprecated
// spec.clusterName (a template may be shared by Clusters, so no Cluster owns
// it any more) and labels the CRD with the move label instead; the default
// rules give the CRD that label on every version. So the deprecated field is
// written only where the bundle's CRD still requires it (CAPM3 ≤ 1.13's
// schema); otherwise the CRD's move label does the job, or, with no CRD in
// the bundle to carry it, the object's own move label. It returns the one
// Cluster that uses the template ("" when none or several), for its pools.
func fixDataTemplate(o *object, st *ownerState, rs *results) string {
	spec := get(o.node, "spec")
	info := st.idx.crds[groupKind{o.group, o.kind}]
	if c := str(get(spec, "clusterName")); c != "" || (info != nil && info.specRequired["clusterName"]) {
		return fixClusterName(o, st, rs)
	}
	users := st.users[o]
	single := ""
	if len(users) == 1 {
		for c := range users {
			single = c
		}
	}
	if st.isReachable(o) {
		st.reachable[o] = true
		return single
	}
	if o.setLabel(LabelMove, "") {
		st.reachable[o] = true
		rs.info(o, "metadata.labels."+LabelMove, "added label %s=\"\": no Metal3DataTemplate CRD in the bundle carries it, and spec.clusterName is deprecated since CAPM3 1.14 (it no longer makes a Cluster the owner), so clusterctl move would leave the template behind", LabelMove)
	} else {
		rs.err(o, "metadata.labels", "cannot add label %s: metadata.labels is not a mapping", LabelMove)
	}
	return single
}

// fixClusterName handles a Metal3DataTemplate or IPPool: an empty
// spec.clusterName is filled when exactly one Cluster uses the object,
// otherwise the object gets the move label. It returns the cluster name the
// object ends up with ("" when none).
func fixClusterName(o *object, st *ownerState, rs *results) string {
	spec := get(o.node, "spec")
	if c := str(get(spec, "clusterName")); c != "" {
		st.reachable[o] = true
		if st.idx.get(capiGroup, "Cluster", o.namespace, c) == nil {
			rs.warn(o, "spec.clusterName", "names Cluster %s/%s, which is not in the bundle (fine if it already exists in the cluster)", o.namespace, c)
		}
		return c
	}
	users := st.users[o]
	names := slices.Sorted(maps.Keys(users))
	if len(names) == 1 && (spec == nil || isMap(spec)) {
		if spec == nil {
			spec = ensureMap(o.node, "spec")
		}
		set(spec, "clusterName", newString(names[0]))
		st.reachable[o] = true
		rs.info(o, "spec.clusterName", "set spec.clusterName=%s, the only Cluster that uses it (through %s): the Cluster then owns it and clusterctl move takes it along", names[0], users[names[0]])
		return names[0]
	}
	if _, ok := o.label(LabelMove); ok {
		st.reachable[o] = true
		return ""
	}
	why := "no Cluster in the bundle uses it"
	if len(names) > 1 {
		why = "Clusters " + strings.Join(names, ", ") + " all use it (no single clusterName fits)"
	}
	if o.setLabel(LabelMove, "") {
		st.reachable[o] = true
		rs.info(o, "metadata.labels."+LabelMove, "added label %s=\"\": spec.clusterName is empty and %s, so clusterctl move would leave it behind", LabelMove, why)
	} else {
		rs.err(o, "metadata.labels", "cannot add label %s: metadata.labels is not a mapping", LabelMove)
	}
	return ""
}

// poolRefs lists the IPPool names a Metal3DataTemplate spec uses: any
// "*FromIPPool" string, the name of "*FromIPPool" list entries and
// "fromPoolRef" mappings, at any depth.
func poolRefs(spec *kyaml.Node) []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	// Each node is visited once: aliases may share subtrees (or be a bomb).
	visited := map[*kyaml.Node]bool{}
	var walk func(n *kyaml.Node, depth int)
	walk = func(n *kyaml.Node, depth int) {
		n = resolve(n)
		if n == nil || depth > 64 || visited[n] {
			return
		}
		visited[n] = true
		switch n.Kind {
		case kyaml.SequenceNode:
			for _, e := range n.Content {
				walk(e, depth+1)
			}
		case kyaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, resolve(n.Content[i+1])
				switch {
				case k == "fromPoolRef":
					add(str(get(v, "name")))
				case strings.HasSuffix(k, "FromIPPool") && v != nil && v.Kind == kyaml.ScalarNode:
					add(str(v))
				case strings.HasSuffix(k, "FromIPPool") && v != nil && v.Kind == kyaml.SequenceNode:
					for _, e := range v.Content {
						add(str(get(e, "name")))
					}
				default:
					walk(v, depth+1)
				}
			}
		}
	}
	walk(spec, 0)
	return out
}

func softOwned(o *object, idx *index) bool {
	for _, suffix := range softOwnedSuffixes {
		if c, ok := strings.CutSuffix(o.name, "-"+suffix); ok && idx.get(capiGroup, "Cluster", o.namespace, c) != nil {
			return true
		}
	}
	return false
}

// sref is a BareMetalHost's reference to a Secret.
type sref struct{ field, ns, name string }

// hostSecretRefs lists the Secrets a BareMetalHost's spec names.
func hostSecretRefs(o *object) []sref {
	spec := get(o.node, "spec")
	var refs []sref
	if n := str(path(spec, "bmc", "credentialsName")); n != "" {
		refs = append(refs, sref{"spec.bmc.credentialsName", o.namespace, n})
	}
	for _, f := range []string{"userData", "networkData", "metaData"} {
		r := get(spec, f)
		if n := str(get(r, "name")); n != "" {
			ns := str(get(r, "namespace"))
			if ns == "" {
				ns = o.namespace
			}
			refs = append(refs, sref{"spec." + f, ns, n})
		}
	}
	return refs
}

// sharedHostSecrets gives a Secret several BareMetalHosts reference (shared
// BMC credentials) the move label and takes away an ownerReference to one
// of those hosts: deleting that host would garbage-collect the Secret while
// the other hosts still use it.
func sharedHostSecrets(objs []*object, st *ownerState, rs *results) {
	users := map[*object][]string{}
	for _, o := range objs {
		if o.group != bmoGroup || o.kind != "BareMetalHost" {
			continue
		}
		for _, r := range hostSecretRefs(o) {
			if s := st.idx.get("", "Secret", r.ns, r.name); s != nil && !slices.Contains(users[s], o.name) {
				users[s] = append(users[s], o.name)
			}
		}
	}
	for _, s := range objs {
		hosts := users[s]
		if len(hosts) < 2 {
			continue
		}
		slices.Sort(hosts)
		shared := strings.Join(hosts, ", ")
		if refs := get(s.meta, "ownerReferences"); refs != nil && refs.Kind == kyaml.SequenceNode {
			var kept []*kyaml.Node
			for _, r := range refs.Content {
				g, _ := splitAPIVersion(str(get(r, "apiVersion")))
				if name := str(get(r, "name")); g == bmoGroup && str(get(r, "kind")) == "BareMetalHost" && slices.Contains(hosts, name) {
					rs.info(s, "metadata.ownerReferences", "removed the ownerReference to BareMetalHost %s: BareMetalHosts %s share this Secret, and deleting %s would garbage-collect it while the others still use it (the move label takes it along instead)", name, shared, name)
					continue
				}
				kept = append(kept, r)
			}
			if len(kept) == 0 {
				deleteKey(s.meta, "ownerReferences")
			} else {
				refs.Content = kept
			}
		}
		if _, ok := s.label(LabelMove); ok || softOwned(s, st.idx) {
			st.reachable[s] = true
			continue
		}
		if s.setLabel(LabelMove, "") {
			st.reachable[s] = true
			rs.info(s, "metadata.labels."+LabelMove, "added label %s=\"\": BareMetalHosts %s share it, so no single host may own it, and nothing else makes clusterctl move take it along", LabelMove, shared)
		} else {
			rs.err(s, "metadata.labels", "cannot add label %s: metadata.labels is not a mapping", LabelMove)
		}
	}
}

// hostSecrets labels the Secrets a BareMetalHost references: BMO sets an
// owner reference on the BMC Secret only once the host is registered, and
// never on user/network/meta data Secrets, so move would leave them behind.
func hostSecrets(o *object, st *ownerState, rs *results) {
	for _, r := range hostSecretRefs(o) {
		s := st.idx.get("", "Secret", r.ns, r.name)
		if s == nil {
			rs.warn(o, r.field, "references Secret %s/%s, which is not in the bundle (fine if it already exists in the cluster)", r.ns, r.name)
			continue
		}
		if _, ok := s.label(LabelMove); ok || softOwned(s, st.idx) {
			st.reachable[s] = true
			continue
		}
		if s.setLabel(LabelMove, "") {
			st.reachable[s] = true
			rs.info(s, "metadata.labels."+LabelMove, "added label %s=\"\": BareMetalHost %s references it in %s and nothing makes clusterctl move take it along (BMO sets an owner reference only once the host is registered)", LabelMove, o.name, r.field)
		} else {
			rs.err(s, "metadata.labels", "cannot add label %s: metadata.labels is not a mapping", LabelMove)
		}
	}
}

// movable says whether clusterctl move lists objects of o's kind at all, so
// that a move label on o means something.
func movable(o *object, idx *index) bool {
	if o.group == "" && (o.kind == "Secret" || o.kind == "ConfigMap") {
		return true
	}
	if info := idx.crds[groupKind{o.group, o.kind}]; info != nil {
		return info.discovered
	}
	return strings.HasSuffix(o.group, "cluster.x-k8s.io") || o.group == bmoGroup || o.group == ipamGroup
}

// reachable says whether move takes o along without a label from us.
func (st *ownerState) isReachable(o *object) bool {
	if st.reachable[o] {
		return true
	}
	if _, ok := o.label(LabelMove); ok {
		return true
	}
	if _, ok := o.label(LabelMoveHierarchy); ok {
		return true
	}
	if info := st.idx.crds[groupKind{o.group, o.kind}]; info != nil && info.moved {
		return true
	}
	switch {
	case o.group == bmoGroup && (o.kind == "BareMetalHost" || o.kind == "HardwareData"):
		return true // the function labels their CRDs move(-hierarchy) (labels.go)
	case o.group == capiGroup && (o.kind == "ClusterClass"):
		return true
	case o.group == "addons.cluster.x-k8s.io" && o.kind == "ClusterResourceSet":
		return true
	case o.group == "" && o.kind == "Secret" && softOwned(o, st.idx):
		return true
	}
	return false
}

// fixOwnerReferences removes uid-carrying ownerReferences (dangling in a new
// cluster: the garbage collector would delete o) and rewrites apiVersions the
// bundle's CRDs no longer serve.
func fixOwnerReferences(cfg *Config, o *object, st *ownerState, rs *results) {
	refs := get(o.meta, "ownerReferences")
	if refs == nil || refs.Kind != kyaml.SequenceNode {
		return
	}
	var kept []*kyaml.Node
	var removed []string
	for i, r := range refs.Content {
		kind, name, uid := str(get(r, "kind")), str(get(r, "name")), str(get(r, "uid"))
		if uid != "" && !cfg.Owners.KeepUIDOwnerReferences {
			removed = append(removed, kind+" "+name)
			rs.warn(o, "metadata.ownerReferences", "removed the ownerReference to %s %s (uid %s): that uid belongs to another cluster, so in a new cluster the garbage collector would delete this object", kind, name, uid)
			continue
		}
		kept = append(kept, r)
		av := str(get(r, "apiVersion"))
		g, v := splitAPIVersion(av)
		if info := st.idx.crds[groupKind{g, kind}]; info != nil && !info.served[v] && info.storage != "" {
			nav := g + "/" + info.storage
			set(r, "apiVersion", newString(nav))
			rs.info(o, "metadata.ownerReferences", "rewrote the apiVersion of the ownerReference to %s %s from %s to %s: the bundle's CRD no longer serves %s", kind, name, av, nav, v)
		}
		if uid == "" {
			rs.warn(o, "metadata.ownerReferences", "ownerReference %d (%s %s) has no uid: the API server rejects it until a uid is set", i, kind, name)
		}
	}
	if len(removed) == 0 {
		return
	}
	if len(kept) == 0 {
		deleteKey(o.meta, "ownerReferences")
	} else {
		refs.Content = kept
	}
	if st.isReachable(o) || !movable(o, st.idx) {
		return
	}
	if o.setLabel(LabelMove, "") {
		st.reachable[o] = true
		rs.info(o, "metadata.labels."+LabelMove, "added label %s=\"\": its owner references (%s) were removed and nothing else makes clusterctl move take it along", LabelMove, strings.Join(removed, ", "))
	}
}

func deleteKey(m *kyaml.Node, k string) {
	if !isMap(m) {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == k {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}
