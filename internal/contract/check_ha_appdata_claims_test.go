package contract_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckHAAppDataClaims(t *testing.T) {
	breaks(t, haRow(t), "ha-appdata-claims",
		brokenPromise{"a claim shared by the members", func(m *contract.Manifest) {
			spec := &haSet(m).Spec.Template.Spec
			spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "appdata", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "hbih-appdata"}}})
			m.Claims = append(m.Claims, corev1.PersistentVolumeClaim{})
			m.Claims[0].Name = "hbih-appdata"
		}, "volumes[name=appdata]: Forbidden: appData from the pod template is one volume for every member: two writers"},
		brokenPromise{"members on ReadWriteOnce", func(m *contract.Manifest) {
			haSet(m).Spec.VolumeClaimTemplates[0].Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
		}, `volumeClaimTemplates[metadata.name=appdata].spec.accessModes: Invalid value: ["ReadWriteOnce"]: want only ReadWriteOncePod`},
	)
}
