package contract_test

import (
	"testing"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckSettings(t *testing.T) {
	breaks(t, prodRow(t), "settings",
		brokenPromise{"seeded where managed is promised", func(m *contract.Manifest) {
			initContainer(t, m, "settings-managed").Name = "settings-seeded"
		}, "initContainers[name=settings-managed]: Required value: the overlay's settings are managed"},
	)
}
