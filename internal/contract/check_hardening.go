package contract

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Check hardening forbids a Hub pod that holds an API token, runs as a
// shared identity, is unbounded, or (where the overlay promises a digest)
// runs an image by tag.
//
// Reads the Hub's pod template (hubWorkload): automountServiceAccountToken,
// serviceAccountName, the Hub's container's resources and image; and the
// rendered ServiceAccounts' automountServiceAccountToken. Allowed: the token
// off in the pod and its ServiceAccount, a rendered ServiceAccount of its
// own, requests and limits for cpu, memory and ephemeral-storage, and with
// imageDigest an image reference with @sha256:.
func init() {
	addCheck(check{
		id:      "hardening",
		promise: "the Hub runs as its own ServiceAccount without an API token, with bounded resources, and by digest where the overlay promises it",
		check:   checkHardening,
	})
}

func checkHardening(m *Manifest, want Expect) field.ErrorList {
	d := hubWorkload(m, want)
	if d == nil {
		return nil
	}
	var errs field.ErrorList
	pod := d.Spec.Template.Spec
	if t := pod.AutomountServiceAccountToken; t == nil || *t {
		errs = append(errs, wantBool(podPath(d).Child("automountServiceAccountToken"), t, false, "the Hub needs no API token"))
	}
	i := slices.IndexFunc(m.ServiceAccounts, func(sa corev1.ServiceAccount) bool { return sa.Name == pod.ServiceAccountName })
	if pod.ServiceAccountName == "" || i < 0 {
		errs = append(errs, field.Invalid(podPath(d).Child("serviceAccountName"), pod.ServiceAccountName, "not a rendered ServiceAccount: the Hub runs as its own"))
	} else if sa := m.ServiceAccounts[i]; sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		errs = append(errs, wantBool(object("ServiceAccount", sa.Name).Child("automountServiceAccountToken"), sa.AutomountServiceAccountToken, false, "the Hub needs no API token"))
	}
	c := pod.Containers[0]
	resources := containerPath(d, c).Child("resources")
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		if _, ok := c.Resources.Requests[r]; !ok {
			errs = append(errs, field.Required(resources.Child("requests").Key(string(r)), "the scheduler places the pod by it"))
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			errs = append(errs, field.Required(resources.Child("limits").Key(string(r)), "an unbounded pod can starve its node"))
		}
	}
	if want.ImageDigest && !strings.Contains(c.Image, "@sha256:") {
		errs = append(errs, field.Invalid(containerPath(d, c).Child("image"), c.Image, "not pinned by digest (@sha256:...): the overlay promises it"))
	}
	return errs
}
