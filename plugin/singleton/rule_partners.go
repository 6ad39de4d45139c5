package singleton

import (
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Rule partners: no object still waits for the partner its component needs.
//
// Reads the annotation hubkit.dev/needs of every item. A component that
// cannot finish an object alone (it leaves a placeholder that only a partner
// listed elsewhere in the overlay can fill) marks the object with it; its
// value says, in the component's words, which line the overlay needs and
// where. The partner removes the mark when it fills the placeholder, as a
// controller removes its finalizer. A mark left when the function runs: an
// error in both modes, naming the object, the annotation and the value; the
// function changes nothing and writes nothing.
//
// Why: a component runs before its overlay's namespace: and name prefixes
// (kustomize applies an overlay's own transformers after its components), so
// whatever names the rendered namespace or names is a partner's work, listed
// under the overlay's transformers:. Forgetting that line renders and applies
// cleanly: components/alerts' rules then watch the namespace "set-by-overlay"
// and never fire, and nothing says so. Every hubkit overlay ends in this
// function, so the render fails here with the missing line instead.
func partnersRule() rule {
	return rule{id: "partners", summary: "no object still carries " + NeedsAnnotation + ": every component's partner ran before the function", check: checkPartners}
}

// NeedsAnnotation marks an object that a partner of its component must
// finish; its value is the line the overlay needs (see partnersRule).
const NeedsAnnotation = "hubkit.dev/needs"

// needing is an item marked NeedsAnnotation, and the mark's value.
type needing struct {
	*item
	ref   ref
	needs string
}

// addNeeds records it if it carries NeedsAnnotation as a string. Annotations
// that are not a map of strings carry no mark (the apiserver would refuse
// them anyway).
func (ix *index) addNeeds(it *item) {
	v, err := it.n.Pipe(yaml.Lookup("metadata", "annotations", NeedsAnnotation))
	if err != nil || v == nil || v.YNode().Kind != yaml.ScalarNode {
		return
	}
	ix.needs = append(ix.needs, &needing{item: it, ref: refOf(it.n), needs: v.YNode().Value})
}

func checkPartners(ix *index) []finding {
	out := make([]finding, 0, len(ix.needs))
	for _, n := range ix.needs {
		line := n.needs
		if line == "" {
			line = "the mark does not say which; see the component's kustomization.yaml"
		}
		out = append(out, finding{target: n.ref, item: n.item, field: "metadata.annotations[" + NeedsAnnotation + "]",
			severity: errorSeverity, current: n.needs,
			message: "unfinished: its component needs a partner that did not run before this function: " + line})
	}
	return out
}
