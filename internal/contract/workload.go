package contract

import corev1 "k8s.io/api/core/v1"

// workload is the Hub's workload as the checks read it: its Deployment (a
// single Hub) or its StatefulSet (an HA group), by kind, name and pod template.
type workload struct {
	Kind, Name string
	Spec       workloadSpec
}

type workloadSpec struct {
	Template corev1.PodTemplateSpec
}
