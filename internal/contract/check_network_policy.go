package contract

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/hubkit/hubkit/internal/portref"
)

// Check network-policy forbids a render without the one NetworkPolicy that
// selects the Hub's pods and admits http to them.
//
// Reads the rendered NetworkPolicies' spec.podSelector.matchLabels,
// spec.policyTypes and spec.ingress[].ports, and the Hub's pod labels and
// its container's port named http. Allowed: exactly one NetworkPolicy whose
// matchLabels the pod carries, with Ingress among its policyTypes and an
// ingress rule whose port names http (by name, or by the container's number).
func init() {
	addCheck(check{
		id:      "network-policy",
		promise: "exactly one NetworkPolicy selects the Hub's pods and admits its http port",
		check:   checkNetworkPolicy,
	})
}

func checkNetworkPolicy(m *Manifest, want Expect) field.ErrorList {
	d := hubWorkload(m, want)
	if d == nil {
		return nil
	}
	if len(m.NetworkPolicies) != 1 {
		return field.ErrorList{exactlyOne(field.NewPath("NetworkPolicy"), len(m.NetworkPolicies), "the one that admits http to the Hub")}
	}
	var errs field.ErrorList
	np := m.NetworkPolicies[0]
	spec := object("NetworkPolicy", np.Name).Child("spec")
	for k, val := range np.Spec.PodSelector.MatchLabels {
		if d.Spec.Template.Labels[k] != val {
			errs = append(errs, field.Invalid(spec.Child("podSelector", "matchLabels").Key(k), val, "does not select the pods of Deployment "+d.Name))
		}
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
		errs = append(errs, field.Invalid(spec.Child("policyTypes"), np.Spec.PolicyTypes, "want Ingress among them"))
	}
	// The http port, as a rule may name it: by name, or by the container's number.
	c := d.Spec.Template.Spec.Containers[0]
	i := slices.IndexFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "http" })
	admitsHTTP := i >= 0 && slices.ContainsFunc(np.Spec.Ingress, func(r networkingv1.NetworkPolicyIngressRule) bool {
		return slices.ContainsFunc(r.Ports, func(p networkingv1.NetworkPolicyPort) bool {
			return p.Port != nil && portref.Names(*p.Port, c.Ports[i].Name, c.Ports[i].ContainerPort)
		})
	})
	if !admitsHTTP {
		errs = append(errs, field.Required(spec.Child("ingress"), "no rule admits the http port (by name, or by the container's number)"))
	}
	return errs
}
