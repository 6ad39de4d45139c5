package singleton

import (
	"fmt"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Rule autoscalers: nothing scales a singleton, or an HA group.
//
// Reads spec.scaleTargetRef of HorizontalPodAutoscalers (autoscaling/v1, v2)
// and KEDA ScaledObjects (keda.sh/v1alpha1; kind defaults to Deployment), and
// spec.targetRef and spec.updatePolicy.updateMode of VerticalPodAutoscalers
// (autoscaling.k8s.io/v1), matched to singletons in the same namespace.
// A horizontal autoscaler aimed at a singleton: enforce removes it and warns;
// audit fails. A vertical autoscaler that evicts to resize (updateMode Auto,
// the default, Recreate or InPlaceOrRecreate): a warning in both modes.
//
// A horizontal autoscaler aimed at an HA group (hagroups.go) is the same
// finding; a vertical one on an HA group passes (it evicts one member at a
// time, which the group survives).
//
// Why: a horizontal autoscaler overrides replicas: 1 at run time, behind the
// manifests' back. A vertical one restarts the only pod, which is an outage.
// An HA group runs exactly its members: an autoscaler adds members it has no
// state, node id or licence for.
func autoscalersRule() rule {
	return rule{id: "autoscalers", summary: "no autoscaler scales a singleton or an HA group", check: checkAutoscalers}
}

func checkAutoscalers(ix *index) []finding {
	var out []finding
	groups := ix.haGroups()
	for _, a := range ix.autoscalers {
		if a.target.Name == "" {
			field := "spec.scaleTargetRef"
			if a.ref.Kind == "VerticalPodAutoscaler" {
				field = "spec.targetRef"
			}
			out = append(out, finding{target: a.ref, item: a.item, field: field, severity: warningSeverity,
				message: fmt.Sprintf("names no workload to scale, so it cannot be checked against the singletons; set %s.name (and kind)", field)})
			continue
		}
		w := ix.singleton(a.ref.Namespace, a.target)
		if w == nil {
			if g := haGroupTargeted(groups, a.ref.Namespace, a.target); g != nil && a.ref.Kind != "VerticalPodAutoscaler" {
				out = append(out, finding{target: a.ref, item: a.item, field: "spec.scaleTargetRef",
					current: a.target.Name,
					message: fmt.Sprintf("scales %s, which runs exactly its members; delete this %s", g, a.ref.Kind),
					fix: &fix{severity: warningSeverity, remove: true,
						message: fmt.Sprintf("removed: it would scale %s, which runs exactly its members", g)}})
			}
			continue
		}
		if a.ref.Kind == "VerticalPodAutoscaler" {
			mode := "Auto"
			if m, err := a.node().Pipe(yaml.Lookup("spec", "updatePolicy", "updateMode")); err == nil && m != nil {
				mode = m.YNode().Value
			}
			if mode == "Off" || mode == "Initial" {
				continue
			}
			out = append(out, finding{target: a.ref, item: a.item, field: "spec.updatePolicy.updateMode",
				severity: warningSeverity, current: mode,
				message: fmt.Sprintf("updateMode %s evicts %s, the only pod, to resize it; set spec.updatePolicy.updateMode to Initial or Off", mode, w.ref)})
			continue
		}
		out = append(out, finding{target: a.ref, item: a.item, field: "spec.scaleTargetRef",
			current: a.target.Name,
			message: fmt.Sprintf("scales %s, a singleton (%s); delete this %s", w.ref, w.why, a.ref.Kind),
			fix: &fix{severity: warningSeverity, remove: true,
				message: fmt.Sprintf("removed: it would scale %s, a singleton (%s)", w.ref, w.why)}})
	}
	return out
}
