package fn

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// execute is framework.Execute with a different writer. kyaml's ByteWriter
// deep-copies every item and encodes the whole ResourceList as one YAML
// document; yaml.v3's emitter keeps every event of a document in a queue it
// never compacts, so memory and time grow faster than the input. Encoding
// item by item gives the same bytes (TestWriterMatchesKyaml checks that on
// every golden case, the benchmark bundle and the fuzz corpus) with memory
// bounded by the largest item.
func execute(p framework.ResourceListProcessor, rw *kio.ByteReadWriter) error {
	items, err := rw.Read()
	if err != nil {
		return fmt.Errorf("failed to read ResourceList input: %w", err)
	}
	rl := framework.ResourceList{Items: items, FunctionConfig: rw.FunctionConfig}
	nodeAnnos, err := kio.PreprocessResourcesForInternalAnnotationMigration(rl.Items)
	if err != nil {
		return err // readError explains it
	}
	retErr := p.Process(&rl)
	if err := kio.ReconcileInternalAnnotations(rl.Items, nodeAnnos); err != nil {
		return fmt.Errorf("writing the ResourceList: %w", err)
	}
	var results *kyaml.RNode
	if len(rl.Results) > 0 {
		// One result at a time, for the same reason as the items: a
		// bundle-sized Marshal would be one bundle-sized YAML document.
		seq := &kyaml.Node{Kind: kyaml.SequenceNode, Content: make([]*kyaml.Node, 0, len(rl.Results))}
		for _, r := range rl.Results {
			b, err := kyaml.Marshal(r)
			if err != nil {
				return fmt.Errorf("writing the results: %w", err)
			}
			n, err := kyaml.Parse(string(b))
			if err != nil {
				return fmt.Errorf("writing the results: %w", err)
			}
			seq.Content = append(seq.Content, n.YNode())
		}
		results = kyaml.NewRNode(seq)
	}
	if rw.WrappingKind == "" || len(rl.Items) == 0 {
		// Nothing large to write (or an error path): kyaml's writer as is.
		rw.Results = results
		if err := rw.Write(rl.Items); err != nil {
			return fmt.Errorf("writing the ResourceList: %w", err)
		}
		return retErr
	}
	var out bytes.Buffer
	if err := writeResourceList(&out, rw.WrappingAPIVersion, rw.WrappingKind, rl.Items, rl.FunctionConfig, results); err != nil {
		// Something the item-by-item writer cannot reproduce exactly
		// (a document end marker): let kyaml write it.
		rw.Results = results
		if err := rw.Write(rl.Items); err != nil {
			return fmt.Errorf("writing the ResourceList: %w", err)
		}
		return retErr
	}
	if _, err := out.WriteTo(rw.Writer); err != nil {
		return fmt.Errorf("writing the ResourceList: %w", err)
	}
	return retErr
}

// writeResourceList writes what kio.ByteWriter writes for a wrapped list
// with KeepReaderAnnotations, one item at a time.
func writeResourceList(w io.Writer, apiVersion, kind string, items []*kyaml.RNode, fc, results *kyaml.RNode) error {
	bw := bufio.NewWriter(w)
	var buf bytes.Buffer
	encode := func(n *kyaml.Node) ([]byte, error) {
		buf.Reset()
		enc := kyaml.NewEncoder(&buf)
		if err := enc.Encode(n); err != nil {
			return nil, err
		}
		if err := enc.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	head, err := encode(&kyaml.Node{Kind: kyaml.DocumentNode, Content: []*kyaml.Node{{Kind: kyaml.MappingNode, Content: []*kyaml.Node{
		{Kind: kyaml.ScalarNode, Value: "apiVersion"}, {Kind: kyaml.ScalarNode, Value: apiVersion},
		{Kind: kyaml.ScalarNode, Value: "kind"}, {Kind: kyaml.ScalarNode, Value: kind},
	}}}})
	if err != nil {
		return err
	}
	bw.Write(head)
	bw.WriteString("items:\n")
	for _, it := range items {
		if err := kyaml.ClearEmptyAnnotations(it); err != nil {
			return err
		}
		// A one-item top-level sequence puts the item at the same column,
		// in the same emitter context, as inside `items:`.
		b, err := encode(&kyaml.Node{Kind: kyaml.DocumentNode, Content: []*kyaml.Node{{Kind: kyaml.SequenceNode, Content: []*kyaml.Node{it.YNode()}}}})
		if err != nil {
			return err
		}
		if bytes.HasSuffix(b, []byte("...\n")) || bytes.HasPrefix(b, []byte("---")) {
			return fmt.Errorf("item %s cannot be written item by item", it.GetName())
		}
		bw.Write(b)
	}
	if fc != nil {
		b, err := encode(&kyaml.Node{Kind: kyaml.DocumentNode, Content: []*kyaml.Node{{Kind: kyaml.MappingNode, Content: []*kyaml.Node{
			{Kind: kyaml.ScalarNode, Value: "functionConfig"}, fc.YNode(),
		}}}})
		if err != nil {
			return err
		}
		bw.Write(b)
	}
	if results != nil {
		rs := results.YNode()
		if rs.Kind != kyaml.SequenceNode || len(rs.Content) == 0 {
			return fmt.Errorf("results are not a non-empty list")
		}
		bw.WriteString("results:\n")
		for _, r := range rs.Content {
			b, err := encode(&kyaml.Node{Kind: kyaml.DocumentNode, Content: []*kyaml.Node{{Kind: kyaml.SequenceNode, Content: []*kyaml.Node{r}}}})
			if err != nil {
				return err
			}
			if bytes.HasSuffix(b, []byte("...\n")) || bytes.HasPrefix(b, []byte("---")) {
				return fmt.Errorf("a result cannot be written item by item")
			}
			bw.Write(b)
		}
	}
	return bw.Flush()
}
