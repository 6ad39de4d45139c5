package contract_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckHARouting(t *testing.T) {
	breaks(t, haRow(t), "ha-routing",
		brokenPromise{"the Service reaches every member", func(m *contract.Manifest) { delete(m.Services[0].Spec.Selector, contract.HARoleLabel) },
			"Service[hbih].spec.selector[hubkit.dev/ha-role]: Invalid value: \"\": want primary"},
		brokenPromise{"no labeler", func(m *contract.Manifest) {
			spec := &haSet(m).Spec.Template.Spec
			spec.Containers = spec.Containers[:1]
		}, "containers[name=ha-role]: Required value: the sidecar that labels each member"},
		brokenPromise{"another labeler", func(m *contract.Manifest) { haSet(m).Spec.Template.Spec.Containers[1].Image = "example.com/labeler:1" },
			`containers[name=ha-role].image: Invalid value: "example.com/labeler:1": want hubkit's ghcr.io/hubkit/ha-role`},
		brokenPromise{"the labeler told another member count", func(m *contract.Manifest) {
			c := &haSet(m).Spec.Template.Spec.Containers[1]
			for k, a := range c.Args {
				if strings.HasPrefix(a, "-members=") {
					c.Args[k] = "-members=3"
				}
			}
		}, "containers[name=ha-role].args: Invalid value"},
		brokenPromise{"the Role patches any pod", func(m *contract.Manifest) { m.Roles[0].Rules[0].ResourceNames = nil },
			"Role[hbih-ha-role].rules[0].resourceNames: Invalid value: null: want the members' pods [hbih-0 hbih-1]"},
		brokenPromise{"the Hub gets the token", func(m *contract.Manifest) {
			haHub(m).VolumeMounts = append(haHub(m).VolumeMounts, corev1.VolumeMount{Name: "ha-role-token", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"})
		}, "Forbidden: the Hub needs no API token"},
	)
}
