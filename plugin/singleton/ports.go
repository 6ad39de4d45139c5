package singleton

import (
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Ports as the rules read and write them, shared by probes and wiring.

func portNode(p intstr.IntOrString) *yaml.RNode {
	if p.Type == intstr.Int {
		return intNode(int64(p.IntVal))
	}
	return yaml.NewStringRNode(p.StrVal)
}

// portChoice says which ports to use instead of an undeclared name, to
// verb one of them.
func portChoice(names []string, verb string) string {
	if len(names) == 0 {
		return "it declares no ports: declare one by that name, or " + verb + " a port number"
	}
	return verb + " one of " + strings.Join(names, ", ") + ", or a port number"
}

func portNames(c container) []string {
	var names []string
	for _, p := range c.Ports {
		if p.Name != "" {
			names = append(names, p.Name)
		} else {
			names = append(names, strconv.Itoa(int(p.ContainerPort)))
		}
	}
	return names
}
