package singleton

import (
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/hubkit/hubkit/plugin/resourcelist"
)

// item is one of the ResourceList's items as the rules see it: a node
// (node), whether it came as bytes or as a node (resourcelist.Item), and
// whether a fix removes it.
type item struct {
	*resourcelist.Item
	removed bool
}

// nodeItem is an item that came, or was made, as a node.
func nodeItem(n *yaml.RNode) *item { return &item{Item: resourcelist.NodeItem(n)} }

// node is the item as a node. buildIndex loaded every item once before the
// rules ran, so it is there.
func (it *item) node() *yaml.RNode { return it.Node() }
