package singleton

import (
	"fmt"
	"k8s.io/apimachinery/pkg/util/intstr"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Rule rollout: a singleton Deployment never runs two pods during a rollout.
//
// Reads spec.strategy of each singleton Deployment, whatever it mounts (a
// single-node claim, a ReadWriteMany one, a hostPath, nothing). Allowed:
// Recreate, and RollingUpdate with maxSurge 0 (0 or 0%), which stops the old
// pod before it starts the new one. Anything else (unset means RollingUpdate
// with a 25% surge): enforce sets type Recreate and drops rollingUpdate, and
// warns; audit fails. StatefulSets are not touched: they never run an old and
// a new pod of one ordinal at once.
//
// Why: a surging rollout starts the new pod before the old one stops. On a
// ReadWriteOnce claim the new pod hangs in ContainerCreating (another node)
// or, worse, runs beside the old one on the same state (same node); on shared
// or no storage two copies of the app run at once, which is what a singleton
// must never do.
func rolloutRule() rule {
	return rule{id: "rollout", summary: "a singleton Deployment rolls out without overlap: Recreate, or RollingUpdate with maxSurge 0", check: checkRollout}
}

func checkRollout(ix *index) []finding {
	var out []finding
	for _, w := range ix.singletons {
		if w.ref.Kind != "Deployment" {
			continue
		}
		var s struct {
			Type          string `yaml:"type"`
			RollingUpdate struct {
				MaxSurge *intOrString `yaml:"maxSurge"`
			} `yaml:"rollingUpdate"`
		}
		if err := decodeField(w.node(), &s, "spec", "strategy"); err != nil {
			continue // not a strategy Kubernetes would take; nothing for us to fix
		}
		current := s.Type
		if current == "" {
			current = "RollingUpdate"
		}
		if current == "Recreate" || (current == "RollingUpdate" && s.RollingUpdate.MaxSurge != nil && surgesNone(s.RollingUpdate.MaxSurge.IntOrString)) {
			continue
		}
		why := "would start a second pod before the first stops"
		if claimName := ix.singleNodeClaimName(w); claimName != "" {
			why = fmt.Sprintf("would start a second pod on claim %s before the first stops", claimName)
		}
		out = append(out, finding{target: w.ref, item: w.item, field: "spec.strategy.type", current: current,
			message: fmt.Sprintf("strategy %s %s; set spec.strategy.type to Recreate and remove spec.strategy.rollingUpdate (or set rollingUpdate.maxSurge to 0)", current, why),
			fix: &fix{severity: warningSeverity, proposed: "Recreate",
				message: fmt.Sprintf("spec.strategy was %s; set to Recreate: a singleton runs one pod at a time, also while it rolls out", current),
				apply:   func() error { return setRecreate(w.node()) }}})
	}
	return out
}

// singleNodeClaimName names the first claim w mounts that one node at a time
// can mount: in the input with ReadWriteOnce(Pod), or external. Else "".
func (ix *index) singleNodeClaimName(w *workload) string {
	if c := ix.singleNodeClaim(w); c != nil {
		return c.ref.Name
	}
	return ix.externalClaimMounted(w)
}

func setRecreate(n *yaml.RNode) error {
	strategy, err := lookupCreate(n, yaml.MappingNode, "spec", "strategy")
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

// surgesNone reports whether a maxSurge starts no pod beside the old: 0 or 0%.
func surgesNone(v intstr.IntOrString) bool {
	n, err := intstr.GetScaledValueFromIntOrPercent(&v, 100, true)
	return err == nil && n == 0
}
