package contract

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	psapi "k8s.io/pod-security-admission/api"
)

// Check namespace forbids a render whose objects live anywhere but the
// overlay's namespace.
//
// Reads every Namespace's metadata.name and its label
// pod-security.kubernetes.io/enforce, and every other object's
// metadata.namespace. Allowed: exactly one Namespace, named as the overlay's
// row says (namespace), enforcing restricted; every other object in it.
func init() {
	addCheck(check{
		id:      "namespace",
		promise: "every object lives in the overlay's namespace, the render's one Namespace, which enforces Pod Security restricted",
		check:   checkNamespace,
	})
}

func checkNamespace(m *Manifest, want Expect) field.ErrorList {
	var errs field.ErrorList
	switch {
	case len(m.Namespaces) != 1:
		errs = append(errs, exactlyOne(field.NewPath("Namespace"), len(m.Namespaces), fmt.Sprintf("%q, where every object lives", want.Namespace)))
	case m.Namespaces[0].Name != want.Namespace:
		ns := m.Namespaces[0].Name
		errs = append(errs, field.Invalid(object("Namespace", ns).Child("metadata", "name"), ns, fmt.Sprintf("want %q", want.Namespace)))
	default:
		ns := m.Namespaces[0]
		if got := ns.Labels[psapi.EnforceLevelLabel]; got != string(psapi.LevelRestricted) {
			errs = append(errs, field.Invalid(object("Namespace", ns.Name).Child("metadata", "labels").Key(psapi.EnforceLevelLabel), got, fmt.Sprintf("want %q", psapi.LevelRestricted)))
		}
	}
	for _, o := range m.Objects {
		if o.Kind != "Namespace" && o.Namespace != want.Namespace {
			errs = append(errs, field.Invalid(object(o.Kind, o.Name).Child("metadata", "namespace"), o.Namespace, fmt.Sprintf("want %q", want.Namespace)))
		}
	}
	return errs
}
