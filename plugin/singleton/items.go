package singleton

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// item is one of the ResourceList's items as the rules see it. Read by kyaml
// (the slow path, Processor.Process) it is a node from the start. Read by
// Execute it is the bytes it came as, parsed when a rule reads it and let go
// again when none does, so that the items no rule reads cost their bytes and
// one parse, and come back as those bytes.
type item struct {
	// raw is the item as it came, from its "-" to its last line (the
	// newline included); nil for an item that came as a node, or was added.
	raw []byte
	// dash is where the item's "-" stands in raw: the column of the items list.
	dash int
	// line is raw's first line in the input (1-based): the nodes parsed from
	// raw carry the input's line numbers, as kyaml's would.
	line int
	n    *yaml.RNode
	// changed: a fix was applied to the node, which is written instead of raw.
	changed bool
	removed bool
}

// nodeItem is an item that came, or was made, as a node.
func nodeItem(n *yaml.RNode) *item { return &item{n: n} }

// load parses raw, unless the node is held.
func (it *item) load() error {
	if it.n != nil {
		return nil
	}
	n, err := parseItem(it.raw, it.dash, it.line)
	it.n = n
	return err
}

// node is the item as a node, parsed from raw if it is not held. buildIndex
// loaded every item once before the rules ran, so parsing cannot fail here.
func (it *item) node() *yaml.RNode {
	if err := it.load(); err != nil {
		panic(fmt.Sprintf("singleton: the item at line %d parsed once and not again: %v", it.line, err))
	}
	return it.n
}

// release lets go of the node when raw can make it again and nothing was
// changed in it.
func (it *item) release() {
	if it.raw != nil && !it.changed {
		it.n = nil
	}
}

// errUnusual is why Execute hands a ResourceList to kyaml after all: it is
// not one the fast path can be sure to read as kyaml does.
var errUnusual = errors.New("not a ResourceList the fast path reads")

// parseItem parses one item of a block sequence, raw from its "-" (at column
// dash) on: the "-" is read as a space, so that every node keeps its column,
// and the lines are moved to the input's. raw is restored before it returns.
func parseItem(raw []byte, dash, line int) (*yaml.RNode, error) {
	raw[dash] = ' '
	defer func() { raw[dash] = '-' }()
	d := yaml.NewDecoder(bytes.NewReader(raw))
	var doc yaml.Node
	if err := d.Decode(&doc); err != nil {
		return nil, err
	}
	var next yaml.Node
	if err := d.Decode(&next); err != io.EOF {
		return nil, errUnusual // a second document inside one item
	}
	// Comments that yaml.v3 gives the document rather than the object would
	// be lost when a changed item is written: kyaml reads them elsewhere.
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.HeadComment != "" || doc.FootComment != "" || doc.LineComment != "" {
		return nil, errUnusual
	}
	n := doc.Content[0]
	shiftLines(n, line-1)
	return yaml.NewRNode(n), nil
}

// shiftLines adds by to the line of n and of every node under it. Aliases
// are not followed: the nodes they point to are shifted where they stand.
func shiftLines(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}
