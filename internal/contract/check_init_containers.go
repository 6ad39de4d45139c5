package contract

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/hubkit/hubkit/internal/names"
)

// Check init-containers forbids an init container of the Hub's pod that
// runs another image than the Hub's or hubkit's own, or less hardened than
// the Hub.
//
// Reads each of the Hub's pod's initContainers: image,
// securityContext.readOnlyRootFilesystem and resources.limits. Allowed: the
// Hub's container's image or one hubkit ships (names.ImageRepositoryPrefix:
// the restore-point init container's), a read-only root, limits for cpu,
// memory and ephemeral-storage. (Privilege escalation and capabilities are check
// pod-security's.)
func init() {
	addCheck(check{
		id:      "init-containers",
		promise: "every init container of the Hub's pod runs the Hub's image with a read-only root and bounded resources",
		check:   checkInitContainers,
	})
}

func checkInitContainers(m *Manifest, want Expect) field.ErrorList {
	d := hubWorkload(m, want)
	if d == nil {
		return nil
	}
	var errs field.ErrorList
	app := d.Spec.Template.Spec.Containers[0]
	for _, c := range d.Spec.Template.Spec.InitContainers {
		path := podPath(d).Child("initContainers").Key("name=" + c.Name)
		if c.Image != app.Image && !shippedImage(c.Image) {
			errs = append(errs, field.Invalid(path.Child("image"), c.Image, "want the Hub's image "+app.Image+" or one hubkit ships"))
		}
		var readOnly *bool
		if c.SecurityContext != nil {
			readOnly = c.SecurityContext.ReadOnlyRootFilesystem
		}
		if readOnly == nil || !*readOnly {
			errs = append(errs, wantBool(path.Child("securityContext", "readOnlyRootFilesystem"), readOnly, true, "hardened as the Hub"))
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
			if _, ok := c.Resources.Limits[r]; !ok {
				errs = append(errs, field.Required(path.Child("resources", "limits").Key(string(r)), "an unbounded pod can starve its node"))
			}
		}
	}
	return errs
}

// shippedImage says whether ref names one of the images hubkit ships.
func shippedImage(ref string) bool {
	return strings.HasPrefix(ref, names.ImageRepositoryPrefix)
}
