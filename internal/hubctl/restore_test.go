package hubctl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The claim made from a restore point is the live one as Git has it: the
// class and mode the apiserver filled in left for it to fill in again, a
// class Git named kept.
func TestTheClaimFromASnapshotNamesWhatGitNames(t *testing.T) {
	live := func(class string, mode corev1.PersistentVolumeMode) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "hbih-appdata", Namespace: "hubkit", Annotations: map[string]string{
				"argocd.argoproj.io/tracking-id":           "hubkit-prod:/PersistentVolumeClaim:hubkit/hbih-appdata",
				"pv.kubernetes.io/bind-completed":          "yes",
				"volume.kubernetes.io/storage-provisioner": "csi.hubkit.test",
			}},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod},
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("50Gi")}},
				StorageClassName: ptr.To(class),
				VolumeMode:       ptr.To(mode),
				VolumeName:       "pvc-1",
			},
		}
	}
	for _, tc := range []struct {
		name      string
		live      *corev1.PersistentVolumeClaim
		wantClass *string
		wantMode  *corev1.PersistentVolumeMode
	}{
		{"the default class and mode, filled in: left out", live("hubkit-csi", corev1.PersistentVolumeFilesystem), nil, nil},
		{"another class, named in Git: kept", live("fast", corev1.PersistentVolumeFilesystem), ptr.To("fast"), nil},
		{"a block volume: kept", live("hubkit-csi", corev1.PersistentVolumeBlock), nil, ptr.To(corev1.PersistentVolumeBlock)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := claimFromSnapshot(tc.live, "hbih-appdata-4.3.3-20261207-053028", "hubkit-csi")
			assert.Equal(t, tc.wantClass, c.Spec.StorageClassName)
			assert.Equal(t, tc.wantMode, c.Spec.VolumeMode)
			assert.Empty(t, c.Spec.VolumeName, "a new volume")
			assert.Equal(t, "hbih-appdata-4.3.3-20261207-053028", c.Spec.DataSource.Name)
			assert.Equal(t, map[string]string{"argocd.argoproj.io/tracking-id": "hubkit-prod:/PersistentVolumeClaim:hubkit/hbih-appdata"}, c.Annotations, "the tools' own, not the controllers'")
		})
	}
}
