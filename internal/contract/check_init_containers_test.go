package contract_test

import (
	"testing"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/names"
)

func TestCheckInitContainers(t *testing.T) {
	breaks(t, prodRow(t), "init-containers",
		brokenPromise{"an init container from another image", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.InitContainers[0].Image = "busybox"
		}, `.image: Invalid value: "busybox": want the Hub's image`},
		brokenPromise{"hubkit's own init container from another image", func(m *contract.Manifest) {
			for i, c := range m.Deployments[0].Spec.Template.Spec.InitContainers {
				if c.Name == names.RestorePointContainer {
					m.Deployments[0].Spec.Template.Spec.InitContainers[i].Image = "ghcr.io/someone/restore-point:dev"
				}
			}
		}, `initContainers[name=restore-point].image: Invalid value: "ghcr.io/someone/restore-point:dev": want the Hub's image`},
		brokenPromise{"an init container with a writable root", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.InitContainers[0].SecurityContext.ReadOnlyRootFilesystem = nil
		}, "securityContext.readOnlyRootFilesystem: Required value: want true"},
	)
}
