package contract

import (
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Check ha-group forbids an HA render (members > 0) that is not one
// StatefulSet labelled with the overlay's member count, the Hub's container
// first, and no Deployment beside it.
//
// Reads the overlay row's workload and members, the rendered Deployments
// and StatefulSets, the StatefulSet's label hubkit.dev/ha-members and its
// first container's name. Allowed: workload StatefulSet; no Deployment;
// exactly one StatefulSet; the label equal to members; container hub first.
// That spec.replicas equals the label and that the group rolls out one at
// a time are the function's rules ha-members and ha-rollout.
func init() {
	addCheck(check{
		id:      "ha-group",
		promise: "an HA group is one StatefulSet, the Hub's container first, labelled with the overlay's member count, and no Deployment",
		check:   checkHAGroup,
	})
}

func checkHAGroup(m *Manifest, want Expect) field.ErrorList {
	if want.Members <= 0 {
		return nil
	}
	var errs field.ErrorList
	for _, d := range m.Deployments {
		errs = append(errs, field.Forbidden(object("Deployment", d.Name), "an HA group runs as a StatefulSet alone"))
	}
	if want.Workload != "StatefulSet" {
		errs = append(errs, field.Invalid(field.NewPath("workload"), want.Workload, "the overlay's row: members need workload: StatefulSet"))
	}
	if len(m.StatefulSets) != 1 {
		return append(errs, exactlyOne(field.NewPath("StatefulSet"), len(m.StatefulSets), "the Hub's HA group"))
	}
	s := &m.StatefulSets[0]
	count := strconv.Itoa(int(want.Members))
	if got := s.Labels[HAMembersLabel]; got != count {
		errs = append(errs, field.Invalid(object("StatefulSet", s.Name).Child("metadata", "labels").Key(HAMembersLabel), got, "want "+strconv.Quote(count)+": the member count, which the function keeps"))
	}
	if c := s.Spec.Template.Spec.Containers; len(c) == 0 || c[0].Name != "hub" {
		errs = append(errs, field.Required(object("StatefulSet", s.Name).Child("spec", "template", "spec", "containers").Index(0), "the Hub's container, hub, first"))
	}
	return errs
}
