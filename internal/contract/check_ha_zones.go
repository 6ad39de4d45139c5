package contract

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Check ha-zones forbids an HA group that is not spread across zones, or
// that a cluster of one zone could not schedule.
//
// Reads the StatefulSet's pod template's topologySpreadConstraints and
// labels. Allowed: a constraint on topology.kubernetes.io/zone whose
// labelSelector.matchLabels the members carry (not empty), with
// whenUnsatisfiable ScheduleAnyway. One member per node (required pod
// anti-affinity on kubernetes.io/hostname) is the function's rule ha-spread.
func init() {
	addCheck(check{
		id:      "ha-zones",
		promise: "an HA group's members are spread across zones, and a cluster of one zone still schedules them all (ScheduleAnyway)",
		check:   checkHAZones,
	})
}

func checkHAZones(m *Manifest, want Expect) field.ErrorList {
	s, w := hubStatefulSet(m, want)
	if s == nil {
		return nil
	}
	pod := s.Spec.Template.Spec
	selects := func(labels map[string]string) bool {
		if len(labels) == 0 {
			return false
		}
		for k, v := range labels {
			if s.Spec.Template.Labels[k] != v {
				return false
			}
		}
		return true
	}
	spread := slices.ContainsFunc(pod.TopologySpreadConstraints, func(c corev1.TopologySpreadConstraint) bool {
		return c.TopologyKey == corev1.LabelTopologyZone && c.LabelSelector != nil && selects(c.LabelSelector.MatchLabels)
	})
	i := slices.IndexFunc(pod.TopologySpreadConstraints, func(c corev1.TopologySpreadConstraint) bool { return c.TopologyKey == corev1.LabelTopologyZone })
	switch {
	case !spread:
		return field.ErrorList{field.Required(podPath(w).Child("topologySpreadConstraints"), "spread the members across zones (topology.kubernetes.io/zone)")}
	case pod.TopologySpreadConstraints[i].WhenUnsatisfiable != corev1.ScheduleAnyway:
		return field.ErrorList{field.Invalid(podPath(w).Child("topologySpreadConstraints").Index(i).Child("whenUnsatisfiable"), pod.TopologySpreadConstraints[i].WhenUnsatisfiable,
			"want ScheduleAnyway: a cluster with one zone must still schedule every member")}
	}
	return nil
}
