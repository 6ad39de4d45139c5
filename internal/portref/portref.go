// Package portref is how Kubernetes resolves a port that one object names in
// another: a Service's targetPort (and a probe's port) among a pod's
// container ports, an Ingress backend's port among its Service's ports, a
// NetworkPolicy's port among the pod's. The singleton function's probes and
// wiring rules and the overlay contract (internal/contract) both ask it, so
// that a render the function passes and the contract it is held to agree on
// what a port reference reaches.
package portref

import "k8s.io/apimachinery/pkg/util/intstr"

// Names reports whether ref names the declared port with this name (empty
// for an unnamed port) and number: a name by its name, a number by its
// number. An empty name or the number 0 names no port.
func Names(ref intstr.IntOrString, name string, number int32) bool {
	if ref.Type == intstr.String {
		return ref.StrVal != "" && ref.StrVal == name
	}
	return ref.IntVal != 0 && ref.IntVal == number
}

// ServiceTarget is the pod port a Service port sends to: its targetPort, or,
// where that is unset (0 or ""), the port itself, as the apiserver defaults it.
func ServiceTarget(port int32, targetPort intstr.IntOrString) intstr.IntOrString {
	if targetPort == intstr.FromInt32(0) || targetPort == intstr.FromString("") {
		return intstr.FromInt32(port)
	}
	return targetPort
}

// IngressBackend is the Service port an Ingress backend's service.port
// names: its name, or, without one, its number.
func IngressBackend(name string, number int32) intstr.IntOrString {
	if name != "" {
		return intstr.FromString(name)
	}
	return intstr.FromInt32(number)
}
