package contract_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckHardening(t *testing.T) {
	breaks(t, prodRow(t), "hardening",
		brokenPromise{"API token mounted", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.AutomountServiceAccountToken = nil
		}, "Deployment[hbih].spec.template.spec.automountServiceAccountToken: Required value: want false"},
		brokenPromise{"default ServiceAccount", func(m *contract.Manifest) { m.Deployments[0].Spec.Template.Spec.ServiceAccountName = "" },
			`spec.template.spec.serviceAccountName: Invalid value: "": not a rendered ServiceAccount`},
		brokenPromise{"ServiceAccount mounts tokens", func(m *contract.Manifest) { m.ServiceAccounts[0].AutomountServiceAccountToken = nil },
			"ServiceAccount[hbih].automountServiceAccountToken: Required value: want false"},
		brokenPromise{"no memory limit", func(m *contract.Manifest) {
			delete(m.Deployments[0].Spec.Template.Spec.Containers[0].Resources.Limits, corev1.ResourceMemory)
		}, "containers[name=hub].resources.limits[memory]: Required value"},
		brokenPromise{"image by tag only", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.Containers[0].Image = "registry.example.com/highbyte/intelligence-hub:4.3.3"
		}, `containers[name=hub].image: Invalid value: "registry.example.com/highbyte/intelligence-hub:4.3.3": not pinned by digest`},
	)
}
