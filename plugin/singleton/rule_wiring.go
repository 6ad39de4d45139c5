package singleton

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/hubkit/hubkit/internal/portref"
)

// Rule wiring: the paths to a singleton lead to ports it has.
//
// Reads the selector and ports of each Service that selects a singleton's pod
// (same namespace), and the service backends of each Ingress
// (networking.k8s.io/v1). A Service port whose targetPort (or, unset, 0 or
// "", its port) is a name no container of the pod declares: an error. A number is
// reached whether or not a container declares it. An Ingress
// backend whose Service selects a singleton but has no such port: an error.
// An Ingress backend naming a Service that is not in the input: a warning.
//
// Why: a wrong port name renders and applies cleanly, and the app is simply
// unreachable after the next restart; the function sees the whole picture
// and can say so before it ships.
func wiringRule() rule {
	return rule{id: "wiring", summary: "Services and Ingresses reach ports a singleton declares", check: checkWiring}
}

func checkWiring(ix *index) []finding {
	var out []finding
	for _, s := range ix.services {
		for _, w := range ix.singletonsSelectedBy(s.ref.Namespace, s.spec.Spec.Selector) {
			for i, p := range s.spec.Spec.Ports {
				target := p.target()
				if podHasPort(w, target) {
					continue
				}
				name := p.Name
				if name == "" {
					name = fmt.Sprint(p.Port)
				}
				out = append(out, finding{target: s.ref, item: s.item, field: fmt.Sprintf("spec.ports[%d].targetPort", i),
					severity: errorSeverity, current: target.String(),
					message: fmt.Sprintf("port %s targets %s, which no container of %s declares; %s", name, target.String(), w.ref, portChoice(podPortNames(w), "target"))})
			}
		}
	}
	for _, ing := range ix.ingresses {
		for _, b := range ing.spec.backends() {
			out = append(out, ix.checkBackend(ing, b.path.String(), b.backend)...)
		}
	}
	return out
}

// fieldBackend is an Ingress backend and the path of its service field.
type fieldBackend struct {
	path    *field.Path
	backend ingressBackend
}

func (ing ingressSpec) backends() []fieldBackend {
	var out []fieldBackend
	if b := ing.Spec.DefaultBackend; b != nil {
		out = append(out, fieldBackend{field.NewPath("spec", "defaultBackend", "service"), *b})
	}
	rules := field.NewPath("spec", "rules")
	for i, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for j, p := range r.HTTP.Paths {
			out = append(out, fieldBackend{rules.Index(i).Child("http", "paths").Index(j).Child("backend", "service"), p.Backend})
		}
	}
	return out
}

func (ix *index) checkBackend(ing *ingress, field string, b ingressBackend) []finding {
	if b.Service == nil {
		return nil
	}
	f := finding{target: ing.ref, item: ing.item, field: field, current: b.Service.Name}
	s := ix.serviceByName[key{ing.ref.Namespace, b.Service.Name}]
	if s == nil {
		f.severity = warningSeverity
		f.message = fmt.Sprintf("backend Service %s is not in the input; check its name", b.Service.Name)
		return []finding{f}
	}
	if len(ix.singletonsSelectedBy(s.ref.Namespace, s.spec.Spec.Selector)) == 0 {
		return nil
	}
	port := portref.IngressBackend(b.Service.Port.Name, b.Service.Port.Number)
	var names []string
	for _, p := range s.spec.Spec.Ports {
		if portref.Names(port, p.Name, p.Port) {
			return nil
		}
		names = append(names, fmt.Sprintf("%s (%d)", p.Name, p.Port))
	}
	f.severity = errorSeverity
	f.message = fmt.Sprintf("backend port %s is not a port of Service %s; use one of %s", port.String(), b.Service.Name, strings.Join(names, ", "))
	return []finding{f}
}

func podHasPort(w *workload, p intstr.IntOrString) bool {
	for _, c := range w.template.Spec.Containers {
		if c.reaches(p) {
			return true
		}
	}
	return false
}

func podPortNames(w *workload) []string {
	var names []string
	for _, c := range w.template.Spec.Containers {
		names = append(names, portNames(c)...)
	}
	return names
}
