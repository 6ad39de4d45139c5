package contract_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckHAZones(t *testing.T) {
	breaks(t, haRow(t), "ha-zones",
		brokenPromise{"zones required", func(m *contract.Manifest) {
			haSet(m).Spec.Template.Spec.TopologySpreadConstraints[0].WhenUnsatisfiable = corev1.DoNotSchedule
		}, `whenUnsatisfiable: Invalid value: "DoNotSchedule": want ScheduleAnyway`},
		brokenPromise{"no zone spread", func(m *contract.Manifest) { haSet(m).Spec.Template.Spec.TopologySpreadConstraints = nil },
			"topologySpreadConstraints: Required value: spread the members across zones"},
	)
}
