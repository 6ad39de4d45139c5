package contract

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/hubkit/hubkit/internal/hub"
)

// Check ha-appdata-claims forbids an HA group whose members' appData is
// not each member's own claim of the overlay's size and access mode.
//
// Reads the Hub's container's mount at appData, the pod template's volumes,
// the StatefulSet's spec.volumeClaimTemplates (storage request, access
// modes) and the rendered PersistentVolumeClaims. Allowed: appData from a
// volumeClaimTemplate of the mount's name, no pod volume of that name, its
// request equal to the row's storage, its access modes the row's
// accessMode alone, and no claim rendered beside the templates. That an HA
// group has templates at all, and no shared claim the StatefulSet would
// not replace, is the function's rule ha-claims.
func init() {
	addCheck(check{
		id:      "ha-appdata-claims",
		promise: "each member mounts appData from its own volumeClaimTemplate of the overlay's storage size and access mode, with no claim rendered beside them",
		check:   checkHAAppDataClaims,
	})
}

func checkHAAppDataClaims(m *Manifest, want Expect) field.ErrorList {
	s, w := hubStatefulSet(m, want)
	if s == nil {
		return nil
	}
	var errs field.ErrorList
	hubC := w.Spec.Template.Spec.Containers[0]
	i := slices.IndexFunc(hubC.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.MountPath == hub.AppData })
	if i < 0 {
		return field.ErrorList{field.Required(containerPath(w, hubC).Child("volumeMounts"), "mounts nothing at "+hub.AppData)}
	}
	name := hubC.VolumeMounts[i].Name
	if j := slices.IndexFunc(w.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == name }); j >= 0 {
		errs = append(errs, field.Forbidden(podPath(w).Child("volumes").Key("name="+name), "appData from the pod template is one volume for every member: two writers; use volumeClaimTemplates"))
	}
	k := slices.IndexFunc(s.Spec.VolumeClaimTemplates, func(c corev1.PersistentVolumeClaim) bool { return c.Name == name })
	path := object("StatefulSet", s.Name).Child("spec", "volumeClaimTemplates").Key("metadata.name=" + name)
	if k < 0 {
		errs = append(errs, field.Required(path, "each member's own appData claim"))
	} else {
		c := s.Spec.VolumeClaimTemplates[k]
		got := c.Spec.Resources.Requests[corev1.ResourceStorage]
		if wantQ := resource.MustParse(want.Storage); got.Cmp(wantQ) != 0 {
			errs = append(errs, field.Invalid(path.Child("spec", "resources", "requests").Key("storage"), got.String(), "want "+want.Storage))
		}
		if !slices.Equal(c.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{want.AccessMode}) {
			errs = append(errs, field.Invalid(path.Child("spec", "accessModes"), c.Spec.AccessModes, fmt.Sprintf("want only %s", want.AccessMode)))
		}
	}
	for _, pvc := range m.Claims {
		errs = append(errs, field.Forbidden(object("PersistentVolumeClaim", pvc.Name), "a claim outside volumeClaimTemplates would be shared by the members"))
	}
	return errs
}
