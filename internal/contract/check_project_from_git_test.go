package contract_test

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/hub"
)

func TestCheckProjectFromGit(t *testing.T) {
	breaks(t, prodRow(t), "project-from-git",
		brokenPromise{"deployment file from a ConfigMap", func(m *contract.Manifest) {
			volumeNamed(t, m, "deployment").VolumeSource = corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "deployment"}}}
		}, "volumes[name=deployment]: Invalid value: mounted at /hubkit/deployment, is not of the kind its component mounts"},
		brokenPromise{"no deployment file", func(m *contract.Manifest) {
			m.Deployments[0].Spec.Template.Spec.Containers[0].Env = slices.DeleteFunc(m.Deployments[0].Spec.Template.Spec.Containers[0].Env,
				func(e corev1.EnvVar) bool { return e.Name == hub.DeploymentFileEnv })
		}, "env[name=HIGHBYTE_DEPLOYMENT_FILE]: Required value: the overlay promises the project from Git"},
	)
}
