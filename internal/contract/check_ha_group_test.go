package contract_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckHAGroup(t *testing.T) {
	breaks(t, haRow(t), "ha-group",
		brokenPromise{"a Deployment beside the group", func(m *contract.Manifest) {
			m.Deployments = append(m.Deployments, appsv1.Deployment{})
			m.Deployments[0].Name = "hbih"
		}, "Deployment[hbih]: Forbidden: an HA group runs as a StatefulSet alone"},
		brokenPromise{"no member count", func(m *contract.Manifest) { delete(haSet(m).Labels, contract.HAMembersLabel) },
			`metadata.labels[hubkit.dev/ha-members]: Invalid value: "": want "2"`},
	)
}
