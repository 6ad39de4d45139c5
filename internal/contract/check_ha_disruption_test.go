package contract_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckHADisruption(t *testing.T) {
	breaks(t, haRow(t), "ha-disruption",
		brokenPromise{"no member may go", func(m *contract.Manifest) {
			m.PodDisruptionBudgets[0].Spec.MaxUnavailable = ptr.To(intstr.FromInt32(0))
		}, "PodDisruptionBudget[hbih].spec.maxUnavailable: Invalid value"},
		brokenPromise{"an unhealthy member blocks drains", func(m *contract.Manifest) { m.PodDisruptionBudgets[0].Spec.UnhealthyPodEvictionPolicy = nil },
			"spec.unhealthyPodEvictionPolicy: Invalid value: null: want AlwaysAllow"},
	)
}
