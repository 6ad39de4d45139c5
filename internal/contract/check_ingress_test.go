package contract_test

import (
	"testing"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckIngress(t *testing.T) {
	prod := prodRow(t)
	breaks(t, prod, "ingress",
		brokenPromise{"wrong TLS secret", func(m *contract.Manifest) { m.Ingresses[0].Spec.TLS[0].SecretName = "other-tls" },
			`Ingress[hbih].spec.tls[0].secretName: Invalid value: "other-tls": want ` + prod.TLSSecret},
		brokenPromise{"ingress without TLS", func(m *contract.Manifest) { m.Ingresses[0].Spec.TLS = nil },
			"Ingress[hbih].spec.tls[0].secretName: Required value"},
		brokenPromise{"a backend to another Service", func(m *contract.Manifest) {
			m.Ingresses[0].Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "other"
		}, `Ingress[hbih].spec.rules[0].http.paths[0].backend.service.name: Invalid value: "other": not a rendered Service`},
	)
}
