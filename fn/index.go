package fn

// id names an object in the bundle. The version is left out on purpose:
// references name a kind, and a bundle can mix v1beta1 and v1beta2.
type id struct {
	group, kind, namespace, name string
}

type groupKind struct{ group, kind string }

// index is built in one pass over the bundle so every reference resolves in
// O(1) (no nested scans: the function stays linear in the bundle size).
type index struct {
	byID map[id]*object
	// byKind finds objects by kind, namespace and name for references that
	// name no group (older manifests); nil marks an ambiguous key.
	byKind map[id]*object
	crds   map[groupKind]*crdInfo
}

const (
	capiGroup  = "cluster.x-k8s.io"
	infraGroup = "infrastructure.cluster.x-k8s.io"
	ipamGroup  = "ipam.metal3.io"
)

func buildIndex(objs []*object) *index {
	idx := &index{
		byID:   make(map[id]*object, len(objs)),
		byKind: make(map[id]*object, len(objs)),
		crds:   map[groupKind]*crdInfo{},
	}
	for _, o := range objs {
		idx.byID[id{o.group, o.kind, o.namespace, o.name}] = o
		k := id{"", o.kind, o.namespace, o.name}
		if prev, seen := idx.byKind[k]; seen && prev != o {
			idx.byKind[k] = nil
		} else {
			idx.byKind[k] = o
		}
		if isCRD(o) {
			if g, k, info := readCRD(o); g != "" && k != "" {
				idx.crds[groupKind{g, k}] = info
			}
		}
	}
	return idx
}

func (idx *index) get(group, kind, namespace, name string) *object {
	if name == "" {
		return nil
	}
	if o := idx.byID[id{group, kind, namespace, name}]; o != nil || group != "" {
		return o
	}
	return idx.byKind[id{"", kind, namespace, name}]
}
