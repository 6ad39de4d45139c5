package contract

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Check ingress forbids an Ingress where the overlay's row promises none,
// and, where it promises one, an Ingress that is not served over TLS by a
// named controller to a rendered Service.
//
// Reads the rendered Ingresses' spec.ingressClassName, spec.tls (secretName,
// hosts) and spec.rules (host, http.paths[].backend.service.name), and the
// rendered Services' names. Allowed: with ingress false, no Ingress; with
// ingress true, exactly one, with a class, a TLS secret (the row's
// tlsSecret, when it names one), every rule's host under spec.tls, and every
// path's backend a rendered Service. That the backend's port is one the
// Service has is the function's rule wiring.
func init() {
	addCheck(check{
		id:      "ingress",
		promise: "an Ingress exists only where the overlay promises one, and then it is one, served over TLS by a named class to a rendered Service",
		check:   checkIngress,
	})
}

func checkIngress(m *Manifest, want Expect) field.ErrorList {
	var errs field.ErrorList
	if !want.Ingress {
		for _, ing := range m.Ingresses {
			errs = append(errs, field.Forbidden(object("Ingress", ing.Name), "the overlay promises no Ingress"))
		}
		return errs
	}
	if len(m.Ingresses) != 1 {
		return field.ErrorList{exactlyOne(field.NewPath("Ingress"), len(m.Ingresses), "the overlay promises one, with TLS")}
	}
	ing := m.Ingresses[0]
	spec := object("Ingress", ing.Name).Child("spec")
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName == "" {
		errs = append(errs, field.Required(spec.Child("ingressClassName"), "name the controller that serves it"))
	}
	secret := spec.Child("tls").Index(0).Child("secretName")
	if len(ing.Spec.TLS) == 0 || ing.Spec.TLS[0].SecretName == "" {
		errs = append(errs, field.Required(secret, "the Hub is served over TLS"))
	} else if want.TLSSecret != "" && ing.Spec.TLS[0].SecretName != want.TLSSecret {
		errs = append(errs, field.Invalid(secret, ing.Spec.TLS[0].SecretName, "want "+want.TLSSecret))
	}
	for i, rule := range ing.Spec.Rules {
		if !slices.ContainsFunc(ing.Spec.TLS, func(t networkingv1.IngressTLS) bool { return slices.Contains(t.Hosts, rule.Host) }) {
			errs = append(errs, field.Invalid(spec.Child("rules").Index(i).Child("host"), rule.Host, "not covered by spec.tls"))
		}
		if rule.HTTP == nil {
			continue
		}
		for j, p := range rule.HTTP.Paths {
			path := spec.Child("rules").Index(i).Child("http", "paths").Index(j).Child("backend", "service")
			switch b := p.Backend.Service; {
			case b == nil:
				errs = append(errs, field.Required(path, "route to the Hub's Service"))
			case !slices.ContainsFunc(m.Services, func(s corev1.Service) bool { return s.Name == b.Name }):
				errs = append(errs, field.Invalid(path.Child("name"), b.Name, "not a rendered Service"))
			}
		}
	}
	return errs
}
