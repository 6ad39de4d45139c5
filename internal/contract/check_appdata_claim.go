package contract

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/hubkit/hubkit/internal/hub"
)

// Check appdata-claim forbids a single Hub whose appData is not the
// rendered claim the overlay's row promises.
//
// Reads the Hub's container's volumeMounts (the one at appData), the pod's
// volume behind it, and the rendered PersistentVolumeClaim it names:
// spec.resources.requests.storage and spec.accessModes. Allowed: a
// persistentVolumeClaim volume naming a rendered claim whose request equals
// the row's storage and whose access modes are the row's accessMode alone.
// That every claim a singleton mounts exists at all is the function's rule
// claims; an HA group's claims are check ha-appdata-claims.
func init() {
	addCheck(check{
		id:      "appdata-claim",
		promise: "a single Hub mounts appData from a rendered claim of the overlay's storage size and access mode",
		check:   checkAppDataClaim,
	})
}

func checkAppDataClaim(m *Manifest, want Expect) field.ErrorList {
	d := hubWorkload(m, want)
	if d == nil || want.Members > 0 {
		return nil
	}
	c := d.Spec.Template.Spec.Containers[0]
	i := slices.IndexFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.MountPath == hub.AppData })
	if i < 0 {
		return field.ErrorList{field.Required(containerPath(d, c).Child("volumeMounts"), fmt.Sprintf("mounts nothing at %s: the Hub's state lives on its claim", hub.AppData))}
	}
	mount := c.VolumeMounts[i]
	volumes := d.Spec.Template.Spec.Volumes
	volume := podPath(d).Child("volumes").Key("name=" + mount.Name)
	j := slices.IndexFunc(volumes, func(vol corev1.Volume) bool { return vol.Name == mount.Name })
	if j < 0 || volumes[j].PersistentVolumeClaim == nil {
		return field.ErrorList{field.Required(volume.Child("persistentVolumeClaim"), fmt.Sprintf("the volume mounted at %s is not a persistentVolumeClaim", hub.AppData))}
	}
	claimName := volumes[j].PersistentVolumeClaim.ClaimName
	k := slices.IndexFunc(m.Claims, func(pvc corev1.PersistentVolumeClaim) bool { return pvc.Name == claimName })
	if k < 0 {
		return field.ErrorList{field.Invalid(volume.Child("persistentVolumeClaim", "claimName"), claimName, "not a rendered PersistentVolumeClaim")}
	}
	var errs field.ErrorList
	pvc := m.Claims[k]
	spec := object("PersistentVolumeClaim", pvc.Name).Child("spec")
	got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if wantQ := resource.MustParse(want.Storage); got.Cmp(wantQ) != 0 {
		errs = append(errs, field.Invalid(spec.Child("resources", "requests").Key(string(corev1.ResourceStorage)), got.String(), "want "+want.Storage))
	}
	if !slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{want.AccessMode}) {
		errs = append(errs, field.Invalid(spec.Child("accessModes"), pvc.Spec.AccessModes, fmt.Sprintf("want only %s", want.AccessMode)))
	}
	return errs
}
