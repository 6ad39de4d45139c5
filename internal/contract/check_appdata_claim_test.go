package contract_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckAppDataClaim(t *testing.T) {
	prod := prodRow(t)
	breaks(t, prod, "appdata-claim",
		brokenPromise{"appData not mounted", func(m *contract.Manifest) {
			appDataMount(t, m).MountPath = "/data"
		}, "containers[name=hub].volumeMounts: Required value: mounts nothing at /usr/local/highbyte/appData"},
		brokenPromise{"appData on an emptyDir", func(m *contract.Manifest) {
			volumeNamed(t, m, appDataMount(t, m).Name).VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
		}, "persistentVolumeClaim: Required value: the volume mounted at /usr/local/highbyte/appData is not a persistentVolumeClaim"},
		brokenPromise{"claim not rendered", func(m *contract.Manifest) { m.Claims = nil },
			`persistentVolumeClaim.claimName: Invalid value: "hbih-appdata": not a rendered PersistentVolumeClaim`},
		brokenPromise{"wrong size", func(m *contract.Manifest) {
			m.Claims[0].Spec.Resources.Requests[corev1.ResourceStorage] = contractQuantity(t, "1Gi")
		}, `PersistentVolumeClaim[hbih-appdata].spec.resources.requests[storage]: Invalid value: "1Gi": want ` + prod.Storage},
		brokenPromise{"shared claim", func(m *contract.Manifest) {
			m.Claims[0].Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}, `spec.accessModes: Invalid value: ["ReadWriteMany"]: want only ` + string(prod.AccessMode)},
	)
}
