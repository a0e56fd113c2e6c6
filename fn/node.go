package fn

import (
	"strings"

	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// Small helpers over yaml.v3 nodes. The function edits the parsed nodes in
// place (never re-encodes an object) so comments, field order and the
// framework's id/index annotations survive a kpt round trip.

// resolve follows an alias so reads see the anchored value.
func resolve(n *kyaml.Node) *kyaml.Node {
	for i := 0; n != nil && n.Kind == kyaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == kyaml.AliasNode {
		return nil
	}
	return n
}

// get returns the value of key in mapping m, or nil.
func get(m *kyaml.Node, key string) *kyaml.Node {
	m = resolve(m)
	if m == nil || m.Kind != kyaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return resolve(m.Content[i+1])
		}
	}
	return nil
}

// path walks nested mappings.
func path(m *kyaml.Node, keys ...string) *kyaml.Node {
	for _, k := range keys {
		m = get(m, k)
		if m == nil {
			return nil
		}
	}
	return m
}

// str is the scalar value of n, or "" for anything else.
func str(n *kyaml.Node) string {
	n = resolve(n)
	if n == nil || n.Kind != kyaml.ScalarNode || n.Tag == kyaml.NodeTagNull {
		return ""
	}
	return n.Value
}

// isMap says whether n is a mapping.
func isMap(n *kyaml.Node) bool { return n != nil && n.Kind == kyaml.MappingNode }

// items returns the elements of a sequence (nil for anything else).
func items(n *kyaml.Node) []*kyaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != kyaml.SequenceNode {
		return nil
	}
	return n.Content
}

func newString(v string) *kyaml.Node {
	n := &kyaml.Node{Kind: kyaml.ScalarNode}
	n.SetString(v)
	// yaml.v3 writes an empty !!str as "" only when the tag says so.
	n.Tag = kyaml.NodeTagString
	return n
}

func newInt(v string) *kyaml.Node {
	return &kyaml.Node{Kind: kyaml.ScalarNode, Tag: kyaml.NodeTagInt, Value: v}
}

func newBool(v bool) *kyaml.Node {
	s := "false"
	if v {
		s = "true"
	}
	return &kyaml.Node{Kind: kyaml.ScalarNode, Tag: kyaml.NodeTagBool, Value: s}
}

func newMap(kv ...*kyaml.Node) *kyaml.Node {
	return &kyaml.Node{Kind: kyaml.MappingNode, Content: kv}
}

func newSeq(elems ...*kyaml.Node) *kyaml.Node {
	return &kyaml.Node{Kind: kyaml.SequenceNode, Content: elems}
}

func key(k string) *kyaml.Node { return &kyaml.Node{Kind: kyaml.ScalarNode, Value: k} }

// ensureMap returns the mapping under key, appending an empty one when the
// key is missing or null. It returns nil when the key holds something else
// (the caller reports that instead of overwriting user data).
func ensureMap(m *kyaml.Node, k string) *kyaml.Node {
	m = resolve(m)
	if !isMap(m) {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != k {
			continue
		}
		v := resolve(m.Content[i+1])
		if isMap(v) {
			return v
		}
		if v != nil && v.Kind == kyaml.ScalarNode && (v.Tag == kyaml.NodeTagNull || v.Value == "") {
			nm := newMap()
			m.Content[i+1] = nm
			return nm
		}
		return nil
	}
	nm := newMap()
	m.Content = append(m.Content, key(k), nm)
	return nm
}

// set puts value under key, replacing the old value node only when the key
// exists; it returns false (and does nothing) when m is not a mapping.
func set(m *kyaml.Node, k string, value *kyaml.Node) bool {
	m = resolve(m)
	if !isMap(m) {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == k {
			// Keep the comments the old value carried.
			value.LineComment = m.Content[i+1].LineComment
			value.HeadComment = m.Content[i+1].HeadComment
			value.FootComment = m.Content[i+1].FootComment
			m.Content[i+1] = value
			return true
		}
	}
	m.Content = append(m.Content, key(k), value)
	return true
}

// has says whether mapping m has key.
func has(m *kyaml.Node, k string) bool {
	m = resolve(m)
	if !isMap(m) {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == k {
			return true
		}
	}
	return false
}

// equalNodes compares two YAML values structurally (styles, comments and key
// order ignored; scalars compared by tag-resolved value). Aliases are
// followed, within a budget so an alias bomb cannot make it explode; past
// the budget the values count as different.
func equalNodes(a, b *kyaml.Node) bool {
	budget := 100000
	return equalBudget(a, b, &budget)
}

func equalBudget(a, b *kyaml.Node, budget *int) bool {
	*budget--
	if *budget < 0 {
		return false
	}
	a, b = resolve(a), resolve(b)
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case kyaml.ScalarNode:
		return a.Value == b.Value && a.ShortTag() == b.ShortTag()
	case kyaml.SequenceNode:
		if len(a.Content) != len(b.Content) {
			return false
		}
		for i := range a.Content {
			if !equalBudget(a.Content[i], b.Content[i], budget) {
				return false
			}
		}
		return true
	case kyaml.MappingNode:
		if len(a.Content) != len(b.Content) {
			return false
		}
		for i := 0; i+1 < len(a.Content); i += 2 {
			if !equalBudget(a.Content[i+1], get(b, a.Content[i].Value), budget) {
				return false
			}
		}
		return true
	}
	return false
}

// deepCopy copies a node tree without comments and anchors. Alias nodes are
// copied as aliases of the same anchor (which precedes the copy in the
// document), so an alias bomb is not expanded.
func deepCopy(n *kyaml.Node) *kyaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Anchor = ""
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	if n.Kind == kyaml.AliasNode {
		return &c
	}
	if len(n.Content) > 0 {
		c.Content = make([]*kyaml.Node, len(n.Content))
		for i, e := range n.Content {
			c.Content[i] = deepCopy(e)
		}
	}
	return &c
}

// object is one input item with the identity fields read once.
type object struct {
	node       *kyaml.Node // the item's mapping node, edited in place
	apiVersion string
	group      string
	version    string
	kind       string
	namespace  string
	name       string
	meta       *kyaml.Node // metadata mapping (may be nil)
}

func newObject(n *kyaml.Node) *object {
	o := &object{node: n}
	o.apiVersion = str(get(n, "apiVersion"))
	o.kind = str(get(n, "kind"))
	o.group, o.version = splitAPIVersion(o.apiVersion)
	o.meta = get(n, "metadata")
	o.name = str(get(o.meta, "name"))
	o.namespace = str(get(o.meta, "namespace"))
	return o
}

func splitAPIVersion(av string) (group, version string) {
	if i := strings.LastIndexByte(av, '/'); i >= 0 {
		return av[:i], av[i+1:]
	}
	return "", av
}

func (o *object) label(k string) (string, bool) {
	l := get(o.meta, "labels")
	if !isMap(l) {
		return "", false
	}
	for i := 0; i+1 < len(l.Content); i += 2 {
		if l.Content[i].Value == k {
			return str(l.Content[i+1]), true
		}
	}
	return "", false
}

func (o *object) annotation(k string) string {
	return str(get(get(o.meta, "annotations"), k))
}

// ref is the ResourceRef of results about o.
func (o *object) ref() *kyaml.ResourceIdentifier {
	return &kyaml.ResourceIdentifier{
		TypeMeta: kyaml.TypeMeta{APIVersion: o.apiVersion, Kind: o.kind},
		NameMeta: kyaml.NameMeta{Name: o.name, Namespace: o.namespace},
	}
}

// file is where kpt read o from, when it says so.
func (o *object) file() *framework.File {
	p := o.annotation(kioutil.PathAnnotation)
	if p == "" {
		p = o.annotation(kioutil.LegacyPathAnnotation)
	}
	if p == "" {
		return nil
	}
	f := &framework.File{Path: p}
	idx := o.annotation(kioutil.IndexAnnotation)
	if idx == "" {
		idx = o.annotation(kioutil.LegacyIndexAnnotation)
	}
	for _, r := range idx {
		if r < '0' || r > '9' || f.Index > 1<<20 {
			f.Index = 0
			break
		}
		f.Index = f.Index*10 + int(r-'0')
	}
	return f
}

// String names o in messages: Kind namespace/name.
func (o *object) String() string {
	if o.namespace == "" {
		return o.kind + " " + o.name
	}
	return o.kind + " " + o.namespace + "/" + o.name
}

// setLabel sets a label on o, creating metadata.labels when needed; it
// returns false when metadata or labels is not a mapping.
func (o *object) setLabel(k, v string) bool {
	if o.meta == nil {
		o.meta = ensureMap(o.node, "metadata")
	}
	labels := ensureMap(o.meta, "labels")
	if labels == nil {
		return false
	}
	return set(labels, k, newString(v))
}
