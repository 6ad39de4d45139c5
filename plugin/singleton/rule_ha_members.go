package singleton

import (
	"fmt"
	"strconv"

	"github.com/hubkit/hubkit/internal/names"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Rule ha-members: an HA group is a StatefulSet that runs exactly its member
// count.
//
// Reads the hubkit.dev/ha-members label (hagroups.go) and spec.replicas of
// each workload that carries it. The label not an integer of 2 or more, or
// given two values (workload and pod template): an error in both modes,
// naming the label. A Deployment so labelled: an error in both modes, as its
// pods have neither stable identities nor claims of their own. spec.replicas
// unset or any count but the members' or 0: enforce sets the member count
// (info when unset, else warning); audit fails. 0 (paused) passes. Not an
// integer, or negative: an error in both modes.
//
// Why: an HA group's members are its nodes (HighByte's HA mode names each by
// its pod): one fewer is a group that cannot fail over, one more is a node
// with no licence, no appData and no place in the design; an unset count is
// one `kubectl scale` or GitOps diff away from either.
func haMembersRule() rule {
	return rule{id: "ha-members", summary: "an HA group (" + names.HAMembersLabel + ") is a StatefulSet of exactly its member count (or 0, paused)", check: checkHAMembers}
}

func checkHAMembers(ix *index) []finding {
	var out []finding
	for _, g := range ix.haGroups() {
		f := finding{target: g.ref, item: g.item}
		switch {
		case g.problem != "":
			f.field, f.severity = g.labelField, errorSeverity
			f.message = g.problem
			out = append(out, f)
			continue
		case g.ref.Kind != "StatefulSet":
			f.field, f.severity, f.current = "kind", errorSeverity, g.ref.Kind
			f.message = fmt.Sprintf("is %s, but a Deployment cannot be an HA group: its members need stable identities (each its own node id) and their own claims (each its own appData), which only a StatefulSet gives (spec.volumeClaimTemplates); make it a StatefulSet, or remove the label", g.label)
			out = append(out, f)
			continue
		}
		f.field = "spec.replicas"
		n, err := g.node().Pipe(yaml.Lookup("spec", "replicas"))
		if err != nil {
			continue // spec is not a map: Kubernetes rejects it
		}
		members := g.members
		set := func() error { return setReplicaCount(g.node(), members) }
		switch {
		case n == nil:
			f.message = fmt.Sprintf("spec.replicas is unset, which leaves the count to whoever scales it next; set it to %d, the members of %s", members, g)
			f.fix = &fix{severity: infoSeverity, proposed: members, apply: set,
				message: fmt.Sprintf("spec.replicas was unset; set to %d, the members of %s", members, g)}
		case n.YNode().Kind != yaml.ScalarNode || n.YNode().Tag != yaml.NodeTagInt:
			f.severity, f.current = errorSeverity, n.YNode().Value
			f.message = fmt.Sprintf("spec.replicas is %q, not an integer; set it to %d, the members of %s", n.YNode().Value, members, g)
		default:
			count, err := strconv.ParseInt(n.YNode().Value, 0, 32)
			switch {
			case err != nil || count < 0:
				f.severity, f.current = errorSeverity, n.YNode().Value
				f.message = fmt.Sprintf("spec.replicas is %s, not a replica count; set it to %d, the members of %s", n.YNode().Value, members, g)
			case count != 0 && count != members:
				f.current = count
				f.message = fmt.Sprintf("spec.replicas is %d, but %s runs exactly its members; set it to %d (0 pauses it), or change the label", count, g, members)
				f.fix = &fix{severity: warningSeverity, proposed: members, apply: set,
					message: fmt.Sprintf("spec.replicas was %d; set to %d: %s runs exactly its members", count, members, g)}
			default:
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

// setReplicaCount sets spec.replicas to count, in place when it exists so
// that its comments stay.
func setReplicaCount(n *yaml.RNode, count int64) error {
	if r, err := n.Pipe(yaml.Lookup("spec", "replicas")); err == nil && r != nil {
		r.YNode().Kind, r.YNode().Tag, r.YNode().Value, r.YNode().Style = yaml.ScalarNode, yaml.NodeTagInt, strconv.FormatInt(count, 10), 0
		return nil
	}
	spec, err := lookupCreate(n, yaml.MappingNode, "spec")
	if err != nil {
		return err
	}
	return spec.PipeE(yaml.SetField("replicas", intNode(count)))
}
