package contract_test

import (
	"testing"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckNamespace(t *testing.T) {
	prod := prodRow(t)
	breaks(t, prod, "namespace",
		brokenPromise{"object outside the namespace", func(m *contract.Manifest) { m.Objects[1].Namespace = "default" },
			`.metadata.namespace: Invalid value: "default": want "` + prod.Namespace + `"`},
		brokenPromise{"namespace not restricted", func(m *contract.Manifest) {
			delete(m.Namespaces[0].Labels, "pod-security.kubernetes.io/enforce")
		}, `Namespace[` + prod.Namespace + `].metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "": want "restricted"`},
	)
}
