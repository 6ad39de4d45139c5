package contract

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// workload is the Hub's workload as the checks read it: its Deployment (a
// single Hub) or its StatefulSet (an HA group), by kind, name and pod template.
type workload struct {
	Kind, Name string
	Spec       workloadSpec
}

type workloadSpec struct {
	Template corev1.PodTemplateSpec
}

// hubWorkload is the Hub's workload in m, or nil when the render has none
// that the checks can read: for a single Hub exactly one Deployment with
// exactly one container (check deployment says otherwise), for an HA group
// (want.Members > 0) exactly one StatefulSet whose first container is hub
// (check ha-group says otherwise).
func hubWorkload(m *Manifest, want Expect) *workload {
	if want.Members > 0 {
		if len(m.StatefulSets) != 1 {
			return nil
		}
		s := &m.StatefulSets[0]
		if c := s.Spec.Template.Spec.Containers; len(c) == 0 || c[0].Name != "hub" {
			return nil
		}
		return &workload{Kind: "StatefulSet", Name: s.Name, Spec: workloadSpec{Template: s.Spec.Template}}
	}
	if len(m.Deployments) != 1 || len(m.Deployments[0].Spec.Template.Spec.Containers) != 1 {
		return nil
	}
	d := &m.Deployments[0]
	return &workload{Kind: "Deployment", Name: d.Name, Spec: workloadSpec{Template: d.Spec.Template}}
}

// podPath is the path of d's pod spec; containerPath, of its container c.
func podPath(d *workload) *field.Path {
	return object(d.Kind, d.Name).Child("spec", "template", "spec")
}

func containerPath(d *workload, c corev1.Container) *field.Path {
	return podPath(d).Child("containers").Key("name=" + c.Name)
}
