package singleton

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Rule input: every item is an object the rules can name, once, whose
// fields the rules read are ones the apiserver would take.
//
// Reads each item's apiVersion, kind, metadata.name (or generateName) and,
// for the kinds the rules read, the fields they decode. An item without
// apiVersion, kind or a name, an item given twice, a ResourceList inside the
// items, or a field that does not decode (a string where a number goes): an
// error in both modes, naming the item and the fix. (An items field that is
// not a list is caught before, when stdin is read: Input.)
//
// The ports the rules read and write are checked as the apiserver checks
// them (k8s.io/apimachinery's validation), each refusal an error in both
// modes naming the item, the field and the fix: in every Deployment and
// StatefulSet, each container's ports (containerPort from 1 to 65535, a
// name an IANA_SVC_NAME: at most 15 characters of a-z, 0-9 and '-', with a
// letter) and the port of each httpGet, tcpSocket and grpc probe (such a
// number or name; gRPC's a number); in every Service, each port's name (a
// DNS label), port, targetPort (such a number or name; 0 or "" means the
// port) and nodePort (from 1 to 65535 when set: the node port range itself,
// 30000-32767 by default, is the apiserver's --service-node-port-range and
// not the function's to know); in every Ingress, each backend's service
// port (a name or a number, not both). Such an item is not indexed: no other
// rule reads it.
//
// Why: without a name no rule can say what to fix, Kubernetes would refuse
// the item anyway, and a field the function cannot read is a field it cannot
// check; passing such input through would make every promise conditional. A
// probe on port 70000 passes every rule and is refused at apply time.
func inputRule() rule {
	return rule{id: "input", summary: "every item is an object with apiVersion, kind and a name, given once, whose fields decode and whose ports the apiserver takes", check: checkInput}
}

// checkInput returns what buildIndex could not read.
func checkInput(ix *index) []finding { return ix.unreadable }

// firstTypeError shortens a YAML type error that lists one problem per
// element (an alias expanded many times lists the same one thousands of times).
func firstTypeError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) < 2 {
		return err
	}
	prefix, _, _ := strings.Cut(err.Error(), te.Errors[0])
	return fmt.Errorf("%s%s (and %d more like it)", prefix, te.Errors[0], len(te.Errors)-1)
}

// checkItem wants an object with apiVersion, kind and a name (metadata.name,
// or generateName), once: without them no rule can name it, and Kubernetes
// would refuse it anyway.
func checkItem(i int, it *item, seen map[ref]int) (finding, bool) {
	n := it.node()
	r := refOf(n)
	f := finding{target: r, item: it, severity: errorSeverity}
	name := r.Name
	if name == "" {
		if g, err := n.Pipe(yaml.Lookup("metadata", "generateName")); err == nil && g != nil {
			name = g.YNode().Value
		}
	}
	var missing []string
	for _, field := range []struct{ name, value string }{{"apiVersion", r.APIVersion}, {"kind", r.Kind}, {"metadata.name", name}} {
		if field.value == "" {
			missing = append(missing, field.name)
		}
	}
	switch {
	case r.Kind == "ResourceList":
		f.field = "kind"
		f.message = fmt.Sprintf("items[%d] is a %s: stdin must hold exactly one ResourceList, with an items list", i, r.Kind)
	case len(missing) > 0:
		f.field = missing[0]
		f.message = fmt.Sprintf("items[%d] has no %s; every item needs apiVersion, kind and metadata.name", i, strings.Join(missing, " or "))
	default:
		if path, first, second, dup := duplicateKey(n.YNode(), ""); dup {
			f.field = path
			f.message = fmt.Sprintf("items[%d] gives %s twice (lines %d and %d): a missing \"---\" between two documents merges them into one; fix the manifest", i, path, first, second)
			return f, false
		}
		if r.Name == "" { // generateName: the server names each one anew
			return f, true
		}
		if first, dup := seen[r]; dup {
			f.message = fmt.Sprintf("items[%d] repeats items[%d] (%s); remove one of them", i, first, r)
			return f, false
		}
		seen[r] = i
		return f, true
	}
	return f, false
}

// duplicateKey finds a mapping key given twice in n, as happens when a
// missing "---" merges two documents: YAML forbids it, kubectl refuses it,
// and a reader keeps only one of the values, silently. It returns the key's
// path and both lines. Aliases are not followed: their targets are checked
// where they are defined. (yaml.v3 reports a key given twice only while it
// decodes into Go values, expanding every alias on the way: one walk of the
// nodes is cheaper and cannot be made to explode.)
func duplicateKey(n *yaml.Node, path string) (string, int, int, bool) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			if k, a, b, dup := duplicateKey(c, p); dup {
				return k, a, b, true
			}
		}
	case yaml.MappingNode:
		lines := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if first, dup := lines[k.Value]; dup && k.Value != "<<" {
				return p, first, k.Line, true
			}
			lines[k.Value] = k.Line
			if k2, a, b, dup := duplicateKey(n.Content[i+1], p); dup {
				return k2, a, b, true
			}
		}
	}
	return "", 0, 0, false
}

// refused is the finding for a field of item n the apiserver would refuse.
func refused(it *item, e *field.Error) finding {
	r := refOf(it.node())
	f := finding{target: r, item: it, field: e.Field, severity: errorSeverity,
		message: fmt.Sprintf("the apiserver would refuse this %s: %s", r.Kind, e.ErrorBody())}
	if e.Type != field.ErrorTypeRequired {
		f.current = e.BadValue
	}
	return f
}

// What to do instead, for each port the apiserver refuses.
const (
	containerPortFix     = "declare a port number from 1 to 65535"
	containerPortNameFix = "name it with at most 15 characters of a-z, 0-9 and '-', one of them a letter, or leave it unnamed"
	probePortFix         = "probe a port number from 1 to 65535, or the name of a port the container declares"
	servicePortFix       = "use a port number from 1 to 65535"
	servicePortNameFix   = "rename it (and every Ingress backend that names it)"
	targetPortFix        = "target a container port's number, from 1 to 65535, or its name"
	nodePortFix          = "use a port of the cluster's node port range (30000-32767 by default), or leave it unset for the cluster to pick"
	backendPortFix       = "name a port of the Service by its name or by its number, from 1 to 65535"
)

// validate checks what the apiserver would refuse in the ports of a pod
// template at path: each container's ports and the port of each probe.
func (t podTemplate) validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	containers := path.Child("spec", "containers")
	for i, c := range t.Spec.Containers {
		at := containers.Index(i)
		if c.Name != "" {
			at = containers.Key("name=" + c.Name) // as the rules' results name it
		}
		for j, p := range c.Ports {
			port := at.Child("ports").Index(j)
			errs = append(errs, validatePortNum(p.ContainerPort, port.Child("containerPort"), containerPortFix)...)
			if p.Name != "" {
				errs = append(errs, invalid(port.Child("name"), p.Name, validation.IsValidPortName(p.Name), containerPortNameFix)...)
			}
		}
		for _, p := range []struct {
			field string
			probe *probe
		}{{"readinessProbe", c.ReadinessProbe}, {"livenessProbe", c.LivenessProbe}, {"startupProbe", c.StartupProbe}} {
			if p.probe != nil {
				errs = append(errs, p.probe.validate(at.Child(p.field))...)
			}
		}
	}
	return errs
}

// validate checks the port of each action of the probe at path.
func (p *probe) validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, a := range []struct {
		field  string
		action *probeAction
	}{{"httpGet", p.HTTPGet}, {"tcpSocket", p.TCPSocket}, {"grpc", p.GRPC}} {
		if a.action == nil {
			continue
		}
		port := path.Child(a.field, "port")
		switch {
		case a.action.Port == nil:
			errs = append(errs, field.Required(port, probePortFix))
		case a.field == "grpc" && a.action.Port.Type == intstr.String:
			errs = append(errs, field.Invalid(port, a.action.Port.StrVal, "a gRPC probe's port is a number: probe the port's number, from 1 to 65535"))
		default:
			errs = append(errs, validatePort(a.action.Port.IntOrString, port, probePortFix)...)
		}
	}
	return errs
}

// validate checks what the apiserver would refuse in a Service's ports.
func (s serviceSpec) validate() field.ErrorList {
	var errs field.ErrorList
	ports := field.NewPath("spec", "ports")
	for i, p := range s.Spec.Ports {
		at := ports.Index(i)
		if p.Name != "" {
			errs = append(errs, invalid(at.Child("name"), p.Name, validation.IsDNS1123Label(p.Name), servicePortNameFix)...)
		}
		errs = append(errs, validatePortNum(p.Port, at.Child("port"), servicePortFix)...)
		if p.TargetPort != nil && p.target() == p.TargetPort.IntOrString { // set, not defaulted to port
			errs = append(errs, validatePort(p.TargetPort.IntOrString, at.Child("targetPort"), targetPortFix)...)
		}
		if p.NodePort != 0 {
			errs = append(errs, validatePortNum(p.NodePort, at.Child("nodePort"), nodePortFix)...)
		}
	}
	return errs
}

// validate checks what the apiserver would refuse in an Ingress's backend ports.
func (ing ingressSpec) validate() field.ErrorList {
	var errs field.ErrorList
	for _, b := range ing.backends() {
		if b.backend.Service == nil {
			continue
		}
		port, at := b.backend.Service.Port, b.path.Child("port")
		switch {
		case port.Name != "" && port.Number != 0:
			errs = append(errs, field.Invalid(at, port.Name, fmt.Sprintf("gives both a name and the number %d; %s", port.Number, backendPortFix)))
		case port.Name != "":
			errs = append(errs, invalid(at.Child("name"), port.Name, validation.IsValidPortName(port.Name), backendPortFix)...)
		case port.Number != 0:
			errs = append(errs, validatePortNum(port.Number, at.Child("number"), backendPortFix)...)
		default:
			errs = append(errs, field.Required(at, backendPortFix))
		}
	}
	return errs
}
