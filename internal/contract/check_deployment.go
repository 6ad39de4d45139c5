package contract

import (
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Check deployment forbids a single Hub's render (members 0) that is not
// exactly one Deployment with exactly one container.
//
// Reads the rendered Deployments and their
// spec.template.spec.containers. Allowed: one Deployment, one container.
// Its replicas and strategy are the function's rules replicas and rollout,
// run by the audit gate; an HA group's shape is check ha-group.
func init() {
	addCheck(check{
		id:      "deployment",
		promise: "a single Hub is exactly one Deployment with exactly one container",
		check:   checkDeployment,
	})
}

func checkDeployment(m *Manifest, want Expect) field.ErrorList {
	if want.Members > 0 {
		return nil
	}
	if len(m.Deployments) != 1 {
		return field.ErrorList{exactlyOne(field.NewPath("Deployment"), len(m.Deployments), "the Hub's")}
	}
	d := &m.Deployments[0]
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		return field.ErrorList{exactlyOne(object("Deployment", d.Name).Child("spec", "template", "spec", "containers"), n, "the Hub's")}
	}
	return nil
}
