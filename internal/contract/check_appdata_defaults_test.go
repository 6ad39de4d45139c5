package contract_test

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckAppDataDefaults(t *testing.T) {
	breaks(t, prodRow(t), "appdata-defaults",
		brokenPromise{"no appData defaults", func(m *contract.Manifest) {
			pod := &m.Deployments[0].Spec.Template.Spec
			pod.InitContainers = slices.DeleteFunc(pod.InitContainers, func(c corev1.Container) bool { return c.Name == "appdata-defaults" })
		}, "initContainers[name=appdata-defaults]: Required value: a fresh claim hides the defaults"},
		brokenPromise{"appData defaults before the settings", func(m *contract.Manifest) {
			slices.Reverse(m.Deployments[0].Spec.Template.Spec.InitContainers)
		}, "Forbidden: runs after appdata-defaults, whose copy of the image's defaults then stands in for its file"},
	)
}
