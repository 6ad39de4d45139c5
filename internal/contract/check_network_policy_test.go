package contract_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckNetworkPolicy(t *testing.T) {
	breaks(t, prodRow(t), "network-policy",
		brokenPromise{"no NetworkPolicy", func(m *contract.Manifest) { m.NetworkPolicies = nil },
			"NetworkPolicy: Required value: want exactly one"},
		brokenPromise{"NetworkPolicy selects other pods", func(m *contract.Manifest) {
			m.NetworkPolicies[0].Spec.PodSelector.MatchLabels["app.kubernetes.io/instance"] = "other"
		}, `NetworkPolicy[hbih].spec.podSelector.matchLabels[app.kubernetes.io/instance]: Invalid value: "other": does not select the pods of Deployment hbih`},
		brokenPromise{"NetworkPolicy shuts http", func(m *contract.Manifest) { m.NetworkPolicies[0].Spec.Ingress = m.NetworkPolicies[0].Spec.Ingress[:1] },
			"NetworkPolicy[hbih].spec.ingress: Required value: no rule admits the http port"},
	)
}

// A NetworkPolicy may admit the http port by its number as well as by name.
func TestNetworkPolicyMayNameTheHTTPPortByNumber(t *testing.T) {
	prod := prodRow(t).Expect
	m := renderedProd(t)
	np := &m.NetworkPolicies[0]
	for i, r := range np.Spec.Ingress {
		for j, p := range r.Ports {
			if p.Port != nil && p.Port.String() == "http" {
				np.Spec.Ingress[i].Ports[j].Port = ptr.To(intstr.FromInt32(45245))
			}
		}
	}
	assert.Empty(t, contract.Check(m, prod))
	np.Spec.Ingress[len(np.Spec.Ingress)-1].Ports[0].Port = ptr.To(intstr.FromInt32(8080))
	got := contract.Check(m, prod)
	assert.True(t, hasFinding(got, "network-policy", "NetworkPolicy[hbih].spec.ingress: Required value: no rule admits the http port"), lines(got))
}
