package contract

import (
	"slices"

	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Check ha-disruption forbids an HA group that a drain could empty, or that
// a broken member could keep from draining.
//
// Reads the rendered PodDisruptionBudgets' spec.selector.matchLabels,
// maxUnavailable, minAvailable and unhealthyPodEvictionPolicy, and the
// members' pod labels. Allowed: a budget selecting the members with
// maxUnavailable 1, no minAvailable, and unhealthyPodEvictionPolicy
// AlwaysAllow. (A single Hub's budgets are the function's rule disruption.)
func init() {
	addCheck(check{
		id:      "ha-disruption",
		promise: "a PodDisruptionBudget lets one member of an HA group go at a time, and never holds a drain for a broken one",
		check:   checkHADisruption,
	})
}

func checkHADisruption(m *Manifest, want Expect) field.ErrorList {
	s, _ := hubStatefulSet(m, want)
	if s == nil {
		return nil
	}
	var errs field.ErrorList
	i := slices.IndexFunc(m.PodDisruptionBudgets, func(p policyv1.PodDisruptionBudget) bool {
		if p.Spec.Selector == nil || len(p.Spec.Selector.MatchLabels) == 0 {
			return false
		}
		for k, v := range p.Spec.Selector.MatchLabels {
			if s.Spec.Template.Labels[k] != v {
				return false
			}
		}
		return true
	})
	if i < 0 {
		errs = append(errs, field.Required(field.NewPath("PodDisruptionBudget"), "one selecting the members: one at a time"))
		return errs
	}
	p := m.PodDisruptionBudgets[i]
	spec := object("PodDisruptionBudget", p.Name).Child("spec")
	if p.Spec.MaxUnavailable == nil || p.Spec.MaxUnavailable.String() != "1" || p.Spec.MinAvailable != nil {
		errs = append(errs, field.Invalid(spec.Child("maxUnavailable"), p.Spec.MaxUnavailable, "want 1 (and no minAvailable): one member at a time"))
	}
	if pol := p.Spec.UnhealthyPodEvictionPolicy; pol == nil || *pol != policyv1.AlwaysAllow {
		errs = append(errs, field.Invalid(spec.Child("unhealthyPodEvictionPolicy"), pol, "want AlwaysAllow: a broken member never blocks a drain"))
	}
	return errs
}
