package singleton

import (
	"fmt"
	"strconv"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Rule replicas: a singleton runs one pod, never more.
//
// Reads spec.replicas of each singleton Deployment and StatefulSet.
// Allowed: 1, and 0 (paused). More than 1: enforce sets 1 and warns; audit
// fails. Unset: enforce writes 1 (info); audit fails, because an unset count
// is one `kubectl scale` or GitOps diff away from two. Not an integer, or
// negative: an error in both modes.
//
// Why: two copies of the app on one set of state corrupt it; the HighByte
// guide forbids horizontal scaling outright.
func replicasRule() rule {
	return rule{id: "replicas", summary: "a singleton runs exactly one replica (or 0, paused)", check: checkReplicas}
}

func checkReplicas(ix *index) []finding {
	var out []finding
	for _, w := range ix.singletons {
		f := finding{target: w.ref, item: w.item, field: "spec.replicas"}
		n, err := w.node().Pipe(yaml.Lookup("spec", "replicas"))
		if err != nil {
			continue // spec is not a map: Kubernetes rejects it, nothing for us to fix
		}
		switch {
		case n == nil:
			f.message = "spec.replicas is unset, which leaves the count to whoever scales it next; set it to 1"
			f.fix = &fix{severity: infoSeverity, message: "spec.replicas was unset; set to 1", proposed: 1,
				apply: func() error { return setReplicas(w.node()) }}
		case n.YNode().Kind != yaml.ScalarNode || n.YNode().Tag != yaml.NodeTagInt:
			f.severity, f.current = errorSeverity, n.YNode().Value
			f.message = fmt.Sprintf("spec.replicas is %q, not an integer; set it to 1", n.YNode().Value)
		default:
			count, err := strconv.ParseInt(n.YNode().Value, 0, 32)
			switch {
			case err != nil || count < 0:
				f.severity, f.current = errorSeverity, n.YNode().Value
				f.message = fmt.Sprintf("spec.replicas is %s, not a replica count; set it to 1", n.YNode().Value)
			case count > 1:
				f.current = count
				f.message = fmt.Sprintf("spec.replicas is %d: a singleton must never run twice; set it to 1 (0 pauses it)", count)
				f.fix = &fix{severity: warningSeverity, proposed: 1,
					message: fmt.Sprintf("spec.replicas was %d; set to 1: a singleton must never run twice", count),
					apply:   func() error { return setReplicas(w.node()) }}
			default:
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

// setReplicas sets spec.replicas to 1, in place when it exists so that its
// comments stay.
func setReplicas(n *yaml.RNode) error {
	if r, err := n.Pipe(yaml.Lookup("spec", "replicas")); err == nil && r != nil {
		r.YNode().Kind, r.YNode().Tag, r.YNode().Value, r.YNode().Style = yaml.ScalarNode, yaml.NodeTagInt, "1", 0
		return nil
	}
	spec, err := lookupCreate(n, yaml.MappingNode, "spec")
	if err != nil {
		return err
	}
	return spec.PipeE(yaml.SetField("replicas", intNode(1)))
}
