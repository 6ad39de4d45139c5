package singleton

import (
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Ports as the rules read and write them, shared by probes and wiring, and
// as the apiserver validates them, shared by the input rule and the config.

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

// validatePort checks p at path as the apiserver checks a probe's port or a
// Service's targetPort (its ValidatePortNumOrName): a number from 1 to
// 65535, or a name that is an IANA_SVC_NAME (at most 15 characters of a-z,
// 0-9 and '-', with a letter). fix, which says what to use instead, ends
// each error's detail.
func validatePort(p intstr.IntOrString, path *field.Path, fix string) field.ErrorList {
	if p.Type == intstr.Int {
		return validatePortNum(p.IntVal, path, fix)
	}
	return invalid(path, p.StrVal, validation.IsValidPortName(p.StrVal), fix)
}

// validatePortNum wants n at path to be a port number, from 1 to 65535.
func validatePortNum(n int32, path *field.Path, fix string) field.ErrorList {
	return invalid(path, n, validation.IsValidPortNum(int(n)), fix)
}

// invalid is one field.Invalid at path for each of validation's messages
// about value, each ending with fix.
func invalid(path *field.Path, value any, msgs []string, fix string) field.ErrorList {
	var errs field.ErrorList
	for _, m := range msgs {
		errs = append(errs, field.Invalid(path, value, m+"; "+fix))
	}
	return errs
}
