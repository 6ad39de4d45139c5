package resourcelist

import (
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Item is one of the ResourceList's items. Read by kyaml (the slow path)
// or made by the function it is a node from the start (NodeItem). Read by
// Execute it is the bytes it came as, parsed when the function reads it
// (Load, Node) and let go again when it is done with it (Release), so that
// the items nothing reads cost their bytes and one parse, and come back as
// those bytes unless MarkChanged says a fix changed the node.
type Item struct {
	// raw is the item as it came, from its "-" to its last line (the
	// newline included); nil for an item that came as a node, or was added.
	raw []byte
	// dash is where the item's "-" stands in raw: the column of the items list.
	dash int
	// line is raw's first line in the input (1-based): the nodes parsed from
	// raw carry the input's line numbers, as kyaml's would.
	line int
	// follows is what comes after raw in the input (parseItem).
	follows int
	// reading checks, on the first load, that kyaml reads raw as it is
	// (kyamlReading); nil once it has, and for a node.
	reading *kyamlReading
	n       *yaml.RNode
	// changed: a fix was applied to the node, which is written instead of raw.
	changed bool
}

// NodeItem is an item that came, or was made, as a node.
func NodeItem(n *yaml.RNode) *Item { return &Item{n: n} }

// Load returns the item as a node, parsing raw unless the node is held. Its
// error is ErrUnusual when raw does not parse on its own as it does in the
// list, or (on its first load) kyaml would read it otherwise: the input is
// then one for kyaml's reader (Execute).
func (it *Item) Load() (*yaml.RNode, error) {
	if it.n != nil {
		return it.n, nil
	}
	n, err := parseItem(it.raw, it.dash, it.line, it.follows)
	if err != nil {
		return nil, ErrUnusual
	}
	if it.reading != nil {
		if !it.reading.same(n) {
			return nil, ErrUnusual
		}
		it.reading = nil
	}
	it.n = n
	return n, nil
}

// Node is the item as a node, parsed from raw if it is not held. The item
// must have loaded once (Load): parsing cannot fail again.
func (it *Item) Node() *yaml.RNode {
	n, err := it.Load()
	if err != nil {
		panic(fmt.Sprintf("resourcelist: the item at line %d parsed once and not again: %v", it.line, err))
	}
	return n
}

// Release lets go of the node when raw can make it again and nothing was
// changed in it.
func (it *Item) Release() {
	if it.raw != nil && !it.changed {
		it.n = nil
	}
}

// MarkChanged says that a fix changed the node: it is written as kyaml
// writes it, and no longer as the bytes it came as.
func (it *Item) MarkChanged() { it.changed = true }

// Undo puts the item back as it was before a fix changed it: the bytes it
// came as, or, for an item that came as a node, before (a copy of the node
// taken before the first fix).
func (it *Item) Undo(before *yaml.RNode) {
	it.changed = false
	if it.raw != nil {
		it.n = nil
		return
	}
	*it.n.YNode() = *before.YNode()
}

// ErrUnusual is why Execute hands a ResourceList to kyaml after all: it is
// not one it can be sure to read item by item as kyaml does.
var ErrUnusual = errors.New("not a ResourceList read item by item")

// What follows an item in its list, as parseItem gives it: yaml.v3 gives a
// comment at an item's end to one node or another by what comes after it.
const (
	endOfInput = iota
	anotherItem
	aKey // at column 0: the list's next field
)

// parseItem parses one entry of the items list, raw from its "-" (at column
// dash) on, as kyaml parses it in the whole list: as the entry of a list
// "items" whose next entry, next key or end of input is what follows raw in
// the input, so that every node has the comments, column and line (moved to
// the input's) that it has there. raw is not changed.
func parseItem(raw []byte, dash, line, follows int) (*yaml.RNode, error) {
	var after string
	switch follows {
	case anotherItem:
		after = strings.Repeat(" ", dash) + "- {}\n"
	case aKey:
		after = "next: {}\n"
	}
	// One slice, not a reader: yaml.v3 reads a slice in place. (No second
	// document can hide in raw: "---" and "..." stand at column 0, where
	// raw has only its "-".)
	in := make([]byte, 0, len("items:\n")+len(raw)+len(after))
	in = append(append(append(in, "items:\n"...), raw...), after...)
	var doc yaml.Node
	if err := yaml.Unmarshal(in, &doc); err != nil {
		return nil, err
	}
	// A comment that yaml.v3 gives the list rather than the item would be
	// lost from a changed item, which is written on its own.
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || commented(&doc) {
		return nil, ErrUnusual
	}
	m := doc.Content[0]
	want := 2
	if follows == aKey {
		want = 4
	}
	if m.Kind != yaml.MappingNode || len(m.Content) != want || commented(m) || commented(m.Content[0]) {
		return nil, ErrUnusual
	}
	seq := m.Content[1]
	want = 1
	if follows == anotherItem {
		want = 2
	}
	if seq.Kind != yaml.SequenceNode || len(seq.Content) != want || commented(seq) || follows == anotherItem && commented(seq.Content[1]) || follows == aKey && (commented(m.Content[2]) || commented(m.Content[3])) {
		return nil, ErrUnusual
	}
	n := seq.Content[0]
	shiftLines(n, line-2)
	return yaml.NewRNode(n), nil
}

func commented(n *yaml.Node) bool {
	return n.HeadComment != "" || n.LineComment != "" || n.FootComment != ""
}

// shiftLines adds by to the line of n and of every node under it. Aliases
// are not followed: the nodes they point to are shifted where they stand.
func shiftLines(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}
