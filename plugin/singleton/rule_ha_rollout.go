package singleton

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Rule ha-rollout: an HA group's rollout replaces one member at a time.
//
// Reads spec.updateStrategy of each HA group StatefulSet. Allowed: type
// RollingUpdate (or unset, which is RollingUpdate) whose
// rollingUpdate.maxUnavailable is absent or comes to one member (the
// StatefulSet controller rounds a percentage down, and never below 1);
// rollingUpdate.partition is kept as it is given. maxUnavailable above one
// member: enforce removes it (one at a time is the default) and warns; audit
// fails. OnDelete: enforce sets RollingUpdate and warns; audit fails.
//
// Why: a rollout that takes two members down at once takes the primary and
// its standby down together, which is the outage the group exists to avoid;
// OnDelete never rolls a member out at all, so a new image waits for someone
// to delete each pod by hand and the members run different versions.
func haRolloutRule() rule {
	return rule{id: "ha-rollout", summary: "an HA group rolls out one member at a time: RollingUpdate, maxUnavailable absent or 1", check: checkHARollout}
}

func checkHARollout(ix *index) []finding {
	var out []finding
	for _, g := range ix.haGroups() {
		if !g.valid() {
			continue // ha-members says why
		}
		var s struct {
			Type          string `yaml:"type"`
			RollingUpdate struct {
				MaxUnavailable *intOrString `yaml:"maxUnavailable"`
			} `yaml:"rollingUpdate"`
		}
		if err := decodeField(g.node(), &s, "spec", "updateStrategy"); err != nil {
			continue // not a strategy Kubernetes would take
		}
		switch s.Type {
		case "OnDelete":
			out = append(out, finding{target: g.ref, item: g.item, field: "spec.updateStrategy.type", current: s.Type,
				message: fmt.Sprintf("updateStrategy OnDelete never replaces a member by itself, so %s runs mixed versions until someone deletes each pod; set spec.updateStrategy.type to RollingUpdate", g),
				fix: &fix{severity: warningSeverity, proposed: "RollingUpdate",
					message: fmt.Sprintf("spec.updateStrategy was OnDelete; set to RollingUpdate: %s replaces one member at a time", g),
					apply:   func() error { return setRollingUpdate(g.node()) }}})
		case "", "RollingUpdate":
			v := s.RollingUpdate.MaxUnavailable
			if v == nil || membersUnavailable(v.IntOrString, g.members) <= 1 {
				continue
			}
			out = append(out, finding{target: g.ref, item: g.item, field: "spec.updateStrategy.rollingUpdate.maxUnavailable", current: v.String(),
				message: fmt.Sprintf("maxUnavailable %s takes %d members of %s down at once in a rollout, the primary and its standby together; remove spec.updateStrategy.rollingUpdate.maxUnavailable (one at a time) or set it to 1", v.String(), membersUnavailable(v.IntOrString, g.members), g),
				fix: &fix{severity: warningSeverity, proposed: 1,
					message: fmt.Sprintf("spec.updateStrategy.rollingUpdate.maxUnavailable was %s; removed: %s replaces one member at a time", v.String(), g),
					apply: func() error {
						return g.node().PipeE(yaml.Lookup("spec", "updateStrategy", "rollingUpdate"), yaml.Clear("maxUnavailable"))
					}}})
		}
	}
	return out
}

// membersUnavailable is how many of members a StatefulSet rollout takes down
// at once with maxUnavailable v: a percentage rounds down, and the
// controller never goes below 1. A value that does not scale counts as all.
func membersUnavailable(v intstr.IntOrString, members int64) int64 {
	n, err := intstr.GetScaledValueFromIntOrPercent(&v, int(members), false)
	if err != nil {
		return members
	}
	return max(int64(n), 1)
}

// setRollingUpdate sets spec.updateStrategy.type to RollingUpdate, in place.
func setRollingUpdate(n *yaml.RNode) error {
	t, err := n.Pipe(yaml.Lookup("spec", "updateStrategy", "type"))
	if err != nil || t == nil {
		return fmt.Errorf("spec.updateStrategy.type not found: %w", err)
	}
	t.YNode().Value, t.YNode().Tag, t.YNode().Style = "RollingUpdate", yaml.NodeTagString, 0
	return nil
}
