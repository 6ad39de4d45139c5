// Package contract states what every rendered hubkit overlay must be for the
// Hub to run as one durable pod that the singleton function cannot know: what
// the overlay's row in overlays/overlays.yaml promises and how hubkit's
// components wire the Hub. What the function can see, its rules hold, run on
// every render as the audit gate before the contract (docs/testing.md). Check
// is a pure function of the rendered manifests and the row: it returns every
// broken promise, and an empty list means the overlay keeps the contract.
// Each check is one file, check_<id>.go (contract.go says how they are laid out).
package contract

import (
	"bytes"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/yaml"
)

// Manifest is a rendered overlay, decoded into the API types the contract reads.
type Manifest struct {
	Namespaces   []corev1.Namespace
	Deployments  []appsv1.Deployment
	StatefulSets []appsv1.StatefulSet
	Services     []corev1.Service
	Claims       []corev1.PersistentVolumeClaim
	Ingresses    []networkingv1.Ingress
	// ServiceAccounts and NetworkPolicies: the hardening.
	ServiceAccounts []corev1.ServiceAccount
	NetworkPolicies []networkingv1.NetworkPolicy
	// PodDisruptionBudgets and Roles: an HA group's (ha.go).
	PodDisruptionBudgets []policyv1.PodDisruptionBudget
	Roles                []rbacv1.Role
	// ConfigMaps: the Hub's settings among them.
	ConfigMaps []corev1.ConfigMap
	// Objects names every object in the render, in order, the ones above included.
	Objects []Object
}

// Object identifies one rendered object.
type Object struct {
	APIVersion, Kind, Namespace, Name string
}

func (o Object) String() string {
	if o.Namespace == "" {
		return fmt.Sprintf("%s %s", o.Kind, o.Name)
	}
	return fmt.Sprintf("%s %s/%s", o.Kind, o.Namespace, o.Name)
}

// Parse decodes the multi-document YAML that `kustomize build` prints. Objects
// of the kinds the contract reads are decoded strictly: a field the API does not
// know (a typo in a patch, say) is an error, as it would be on the server.
func Parse(rendered []byte) (*Manifest, error) {
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(rendered), OmitReaderAnnotations: true}).Read()
	if err != nil {
		return nil, fmt.Errorf("read rendered YAML: %w", err)
	}
	m := &Manifest{}
	for _, n := range nodes {
		o := Object{APIVersion: n.GetApiVersion(), Kind: n.GetKind(), Namespace: n.GetNamespace(), Name: n.GetName()}
		m.Objects = append(m.Objects, o)
		doc, err := n.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o, err)
		}
		if err := m.decode(o, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", o, err)
		}
	}
	return m, nil
}

func (m *Manifest) decode(o Object, doc []byte) error {
	switch o.APIVersion + "/" + o.Kind {
	case "v1/Namespace":
		return decodeInto(doc, &m.Namespaces)
	case "apps/v1/Deployment":
		return decodeInto(doc, &m.Deployments)
	case "apps/v1/StatefulSet":
		return decodeInto(doc, &m.StatefulSets)
	case "v1/Service":
		return decodeInto(doc, &m.Services)
	case "v1/PersistentVolumeClaim":
		return decodeInto(doc, &m.Claims)
	case "networking.k8s.io/v1/Ingress":
		return decodeInto(doc, &m.Ingresses)
	case "v1/ServiceAccount":
		return decodeInto(doc, &m.ServiceAccounts)
	case "networking.k8s.io/v1/NetworkPolicy":
		return decodeInto(doc, &m.NetworkPolicies)
	case "policy/v1/PodDisruptionBudget":
		return decodeInto(doc, &m.PodDisruptionBudgets)
	case "rbac.authorization.k8s.io/v1/Role":
		return decodeInto(doc, &m.Roles)
	case "v1/ConfigMap":
		return decodeInto(doc, &m.ConfigMaps)
	}
	return nil
}

func decodeInto[T any](doc []byte, list *[]T) error {
	var v T
	if err := yaml.UnmarshalStrict(doc, &v); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}
