package contract_test

import (
	"testing"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckCertificateStore(t *testing.T) {
	breaks(t, prodRow(t), "certificate-store",
		brokenPromise{"certificate store mounted read-write", func(m *contract.Manifest) {
			for i := range initContainer(t, m, "certificate-store").VolumeMounts {
				initContainer(t, m, "certificate-store").VolumeMounts[i].ReadOnly = false
			}
		}, "readOnly: Invalid value: false: want true: /hubkit/certificate-store is configuration from Git or a Secret"},
	)
}
