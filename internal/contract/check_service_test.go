package contract_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckService(t *testing.T) {
	breaks(t, prodRow(t), "service",
		brokenPromise{"service type", func(m *contract.Manifest) { m.Services[0].Spec.Type = corev1.ServiceTypeLoadBalancer },
			`Service[hbih].spec.type: Invalid value: "LoadBalancer": want ClusterIP`},
		brokenPromise{"selector misses the pod", func(m *contract.Manifest) {
			m.Services[0].Spec.Selector["app.kubernetes.io/name"] = "hub"
		}, `Service[hbih].spec.selector[app.kubernetes.io/name]: Invalid value: "hub": does not match the pod labels of Deployment hbih`},
		brokenPromise{"target port missing", func(m *contract.Manifest) {
			m.Services[0].Spec.Ports[0].TargetPort = intstr.FromString("web")
		}, `Service[hbih].spec.ports[name=http].targetPort: Invalid value: "web": container hub declares no such port`},
		brokenPromise{"target port an undeclared number", func(m *contract.Manifest) {
			m.Services[0].Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
		}, `Service[hbih].spec.ports[name=http].targetPort: Invalid value: "8080": container hub declares no such port`},
	)
}
