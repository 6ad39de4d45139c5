package singleton

import (
	"fmt"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Rule rollout: a singleton Deployment on a single-node claim rolls out by
// Recreate.
//
// Reads spec.strategy of each singleton Deployment whose pod mounts a
// ReadWriteOnce or ReadWriteOncePod claim in the input, or one listed in
// spec.externalClaims (assumed single-node). Anything but Recreate (unset
// means RollingUpdate): enforce sets type Recreate and drops rollingUpdate,
// and warns; audit fails. StatefulSets are not touched: they never run an old
// and a new pod of one ordinal at once.
//
// Why: a rolling update starts the new pod before the old one stops. On a
// ReadWriteOnce claim the new pod hangs in ContainerCreating (another node)
// or, worse, runs beside the old one on the same state (same node).
func rolloutRule() rule {
	return rule{id: "rollout", summary: "a singleton Deployment on a ReadWriteOnce claim uses Recreate", check: checkRollout}
}

func checkRollout(ix *index) []finding {
	var out []finding
	for _, w := range ix.singletons {
		if w.ref.Kind != "Deployment" {
			continue
		}
		claimName := ix.singleNodeClaimName(w)
		if claimName == "" {
			continue
		}
		current := "RollingUpdate"
		if t, err := w.node.Pipe(yaml.Lookup("spec", "strategy", "type")); err == nil && t != nil {
			current = t.YNode().Value
		}
		if current == "Recreate" {
			continue
		}
		out = append(out, finding{rule: "rollout", target: w.ref, node: w.node, field: "spec.strategy.type", current: current,
			message: fmt.Sprintf("strategy %s would start a second pod on claim %s before the first stops; set spec.strategy.type to Recreate and remove spec.strategy.rollingUpdate", current, claimName),
			fix: &fix{severity: warningSeverity, proposed: "Recreate",
				message: fmt.Sprintf("spec.strategy was %s; set to Recreate: claim %s is mounted by one pod at a time", current, claimName),
				apply:   func() error { return setRecreate(w.node) }}})
	}
	return out
}

// singleNodeClaimName names the first claim w mounts that one node at a time
// can mount: in the input with ReadWriteOnce(Pod), or external. Else "".
func (ix *index) singleNodeClaimName(w *workload) string {
	if c := ix.singleNodeClaim(w); c != nil {
		return c.ref.Name
	}
	for _, v := range w.template.Spec.Volumes {
		if v.PersistentVolumeClaim != nil && ix.isExternalClaim(w.ref.Namespace, v.PersistentVolumeClaim.ClaimName) {
			return v.PersistentVolumeClaim.ClaimName
		}
	}
	return ""
}

func setRecreate(n *yaml.RNode) error {
	strategy, err := n.Pipe(yaml.LookupCreate(yaml.MappingNode, "spec", "strategy"))
	if err != nil {
		return err
	}
	if t, err := strategy.Pipe(yaml.Lookup("type")); err == nil && t != nil {
		t.YNode().Value, t.YNode().Tag, t.YNode().Style = "Recreate", yaml.NodeTagString, 0
	} else if err := strategy.PipeE(yaml.SetField("type", yaml.NewScalarRNode("Recreate"))); err != nil {
		return err
	}
	return strategy.PipeE(yaml.Clear("rollingUpdate"))
}
