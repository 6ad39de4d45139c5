package contract

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/hubkit/hubkit/internal/portref"
)

// Check service forbids a render whose one Service is not the Hub's as the
// overlay's row exposes it.
//
// Reads the rendered Services' spec.type, spec.selector and spec.ports
// (name, nodePort, port, targetPort), and the Hub's pod labels and its
// container's ports. Allowed: exactly one Service, of the row's serviceType,
// a port named http whose nodePort is the row's (0: none), a selector that
// is not empty and that the pod's labels match (an HA group's role label
// aside: check ha-routing), and only target ports that the Hub's container
// declares, by name or number. The function's rule wiring lets an
// undeclared number through, as Kubernetes does; the Hub's Service is held
// to what its container declares.
func init() {
	addCheck(check{
		id:      "service",
		promise: "exactly one Service, of the overlay's type and http nodePort, selects the Hub's pods and sends only to ports its container declares",
		check:   checkService,
	})
}

func checkService(m *Manifest, want Expect) field.ErrorList {
	if len(m.Services) != 1 {
		return field.ErrorList{exactlyOne(field.NewPath("Service"), len(m.Services), "the Hub's")}
	}
	var errs field.ErrorList
	s := m.Services[0]
	spec := object("Service", s.Name).Child("spec")
	if s.Spec.Type != want.ServiceType {
		errs = append(errs, field.Invalid(spec.Child("type"), s.Spec.Type, fmt.Sprintf("want %s", want.ServiceType)))
	}
	i := slices.IndexFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "http" })
	if i < 0 {
		errs = append(errs, field.Required(spec.Child("ports"), "no port named http"))
	} else if got := s.Spec.Ports[i].NodePort; got != want.NodePort {
		errs = append(errs, field.Invalid(spec.Child("ports").Key("name=http").Child("nodePort"), got, fmt.Sprintf("want %d", want.NodePort)))
	}
	d := hubWorkload(m, want)
	if d == nil {
		return errs
	}
	if len(s.Spec.Selector) == 0 {
		errs = append(errs, field.Required(spec.Child("selector"), "select the pods of Deployment "+d.Name))
	}
	for k, val := range s.Spec.Selector {
		if k == HARoleLabel && want.Members > 0 {
			continue // set on the primary by its sidecar (check ha-routing)
		}
		if d.Spec.Template.Labels[k] != val {
			errs = append(errs, field.Invalid(spec.Child("selector").Key(k), val, "does not match the pod labels of Deployment "+d.Name))
		}
	}
	c := d.Spec.Template.Spec.Containers[0]
	for i, p := range s.Spec.Ports {
		target := portref.ServiceTarget(p.Port, p.TargetPort)
		declared := slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return portref.Names(target, cp.Name, cp.ContainerPort) })
		if !declared {
			errs = append(errs, field.Invalid(named(spec.Child("ports"), i, p.Name).Child("targetPort"), target.String(), fmt.Sprintf("container %s declares no such port", c.Name)))
		}
	}
	return errs
}
