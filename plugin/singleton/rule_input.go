package singleton

import (
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Rule input: every item is an object the rules can name, once.
//
// Reads each item's apiVersion, kind, metadata.name (or generateName) and,
// for the kinds the rules read, the fields they decode. An item without
// apiVersion, kind or a name, an item given twice, a ResourceList inside the
// items, or a field that does not decode (a string where a number goes): an
// error in both modes, naming the item and the fix. (An items field that is
// not a list is caught before, when stdin is read: Input.)
//
// Why: without a name no rule can say what to fix, Kubernetes would refuse
// the item anyway, and a field the function cannot read is a field it cannot
// check; passing such input through would make every promise conditional.
func inputRule() rule {
	return rule{id: "input", summary: "every item is an object with apiVersion, kind and a name, given once, whose fields decode", check: checkInput}
}

// checkInput returns what buildIndex could not read.
func checkInput(ix *index) []finding { return ix.unreadable }

// firstTypeError shortens a YAML type error that lists one problem per
// element (an alias expanded many times lists the same one thousands of times).
func firstTypeError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) < 2 {
		return err
	}
	prefix, _, _ := strings.Cut(err.Error(), te.Errors[0])
	return fmt.Errorf("%s%s (and %d more like it)", prefix, te.Errors[0], len(te.Errors)-1)
}

// checkItem wants an object with apiVersion, kind and a name (metadata.name,
// or generateName), once: without them no rule can name it, and Kubernetes
// would refuse it anyway.
func checkItem(i int, n *yaml.RNode, seen map[ref]int) (finding, bool) {
	r := refOf(n)
	f := finding{target: r, node: n, severity: errorSeverity}
	name := r.Name
	if name == "" {
		if g, err := n.Pipe(yaml.Lookup("metadata", "generateName")); err == nil && g != nil {
			name = g.YNode().Value
		}
	}
	var missing []string
	for _, field := range []struct{ name, value string }{{"apiVersion", r.APIVersion}, {"kind", r.Kind}, {"metadata.name", name}} {
		if field.value == "" {
			missing = append(missing, field.name)
		}
	}
	switch {
	case r.Kind == "ResourceList":
		f.field = "kind"
		f.message = fmt.Sprintf("items[%d] is a %s: stdin must hold exactly one ResourceList, with an items list", i, r.Kind)
	case len(missing) > 0:
		f.field = missing[0]
		f.message = fmt.Sprintf("items[%d] has no %s; every item needs apiVersion, kind and metadata.name", i, strings.Join(missing, " or "))
	default:
		if path, first, second, dup := duplicateKey(n.YNode(), ""); dup {
			f.field = path
			f.message = fmt.Sprintf("items[%d] gives %s twice (lines %d and %d): a missing \"---\" between two documents merges them into one; fix the manifest", i, path, first, second)
			return f, false
		}
		if r.Name == "" { // generateName: the server names each one anew
			return f, true
		}
		if first, dup := seen[r]; dup {
			f.message = fmt.Sprintf("items[%d] repeats items[%d] (%s); remove one of them", i, first, r)
			return f, false
		}
		seen[r] = i
		return f, true
	}
	return f, false
}

// duplicateKey finds a mapping key given twice in n, as happens when a
// missing "---" merges two documents: YAML forbids it, kubectl refuses it,
// and a reader keeps only one of the values, silently. It returns the key's
// path and both lines. Aliases are not followed: their targets are checked
// where they are defined. (yaml.v3 reports a key given twice only while it
// decodes into Go values, expanding every alias on the way: one walk of the
// nodes is cheaper and cannot be made to explode.)
func duplicateKey(n *yaml.Node, path string) (string, int, int, bool) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			if k, a, b, dup := duplicateKey(c, p); dup {
				return k, a, b, true
			}
		}
	case yaml.MappingNode:
		lines := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if first, dup := lines[k.Value]; dup && k.Value != "<<" {
				return p, first, k.Line, true
			}
			lines[k.Value] = k.Line
			if k2, a, b, dup := duplicateKey(n.Content[i+1], p); dup {
				return k2, a, b, true
			}
		}
	}
	return "", 0, 0, false
}
