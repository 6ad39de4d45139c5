package contract_test

import (
	"testing"

	"k8s.io/utils/ptr"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckPodSecurity(t *testing.T) {
	breaks(t, prodRow(t), "pod-security",
		brokenPromise{"privilege escalation", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
		}, "Deployment[hbih].spec.template: Forbidden: violates Pod Security restricted: allowPrivilegeEscalation != false"},
	)
}
