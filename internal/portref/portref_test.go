package portref_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/hubkit/hubkit/internal/portref"
)

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ref      intstr.IntOrString
		portName string
		number   int32
		names    bool
	}{
		{"a name by its name", intstr.FromString("http"), "http", 8080, true},
		{"a name by another name", intstr.FromString("http"), "admin", 8080, false},
		{"a name is not a number", intstr.FromString("8080"), "", 8080, false},
		{"a number by its number", intstr.FromInt32(8080), "http", 8080, true},
		{"a number by another number", intstr.FromInt32(8081), "http", 8080, false},
		{"a number is not a name", intstr.FromInt32(8080), "8080", 9090, false},
		{"the empty name names no unnamed port", intstr.FromString(""), "", 8080, false},
		{"0 names no port without a number", intstr.FromInt32(0), "http", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.names, portref.Names(tc.ref, tc.portName, tc.number))
		})
	}
}

func TestServiceTarget(t *testing.T) {
	for _, tc := range []struct {
		name       string
		targetPort intstr.IntOrString
		want       intstr.IntOrString
	}{
		{"unset is the port", intstr.IntOrString{}, intstr.FromInt32(80)},
		{"0 is the port", intstr.FromInt32(0), intstr.FromInt32(80)},
		{"the empty name is the port", intstr.FromString(""), intstr.FromInt32(80)},
		{"a number", intstr.FromInt32(8080), intstr.FromInt32(8080)},
		{"a name", intstr.FromString("http"), intstr.FromString("http")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, portref.ServiceTarget(80, tc.targetPort))
		})
	}
}

func TestIngressBackend(t *testing.T) {
	assert.Equal(t, intstr.FromString("http"), portref.IngressBackend("http", 0), "a name")
	assert.Equal(t, intstr.FromInt32(80), portref.IngressBackend("", 80), "a number")
	assert.Equal(t, intstr.FromString("http"), portref.IngressBackend("http", 80), "both (the apiserver refuses it): the name")
}
