package singleton

import (
	"fmt"
	"k8s.io/apimachinery/pkg/util/intstr"
	"strings"
)

// Rule disruption: no PodDisruptionBudget makes a singleton undrainable.
//
// Reads spec.selector, spec.minAvailable and spec.maxUnavailable of
// PodDisruptionBudgets (policy/v1) that select a singleton's pods in the same
// namespace. minAvailable of 1 or more (or any percentage above 0%), or
// maxUnavailable of 0 (or 0%): an error in both modes; there is nothing
// right to change it to on the user's behalf.
//
// Why: with one replica, a budget that keeps one pod available never lets
// that pod be evicted, so `kubectl drain` and node upgrades hang forever. A
// singleton survives a drain by being recreated elsewhere with its claim.
func disruptionRule() rule {
	return rule{id: "disruption", summary: "no PodDisruptionBudget blocks draining a singleton's node", check: checkDisruption}
}

func checkDisruption(ix *index) []finding {
	var out []finding
	for _, p := range ix.pdbs {
		ws := ix.singletonsBudgetedBy(p)
		if len(ws) == 0 {
			continue
		}
		var minAvailable, maxUnavailable intOrString
		_ = decodeField(p.node(), &minAvailable, "spec", "minAvailable") // unreadable: the API server rejects it
		_ = decodeField(p.node(), &maxUnavailable, "spec", "maxUnavailable")
		var field string
		var value intstr.IntOrString
		switch {
		case isSet(minAvailable.IntOrString) && atLeastOnePod(minAvailable.IntOrString):
			field, value = "spec.minAvailable", minAvailable.IntOrString
		case isSet(maxUnavailable.IntOrString) && !atLeastOnePod(maxUnavailable.IntOrString):
			field, value = "spec.maxUnavailable", maxUnavailable.IntOrString
		default:
			continue
		}
		for _, w := range ws {
			out = append(out, finding{target: p.ref, item: p.item, field: field, severity: errorSeverity, current: value.String(),
				message: fmt.Sprintf("%s %s keeps %s, a singleton, from ever being evicted, so draining its node hangs forever; set spec.maxUnavailable: 1 (and remove spec.minAvailable), or delete this PodDisruptionBudget", strings.TrimPrefix(field, "spec."), value.String(), w.ref)})
		}
	}
	return out
}

// atLeastOnePod reports whether v, applied to one pod, comes to one or more
// (percentages round up, as the disruption controller rounds them).
func atLeastOnePod(v intstr.IntOrString) bool {
	n, err := intstr.GetScaledValueFromIntOrPercent(&v, 1, true)
	return err == nil && n >= 1
}
