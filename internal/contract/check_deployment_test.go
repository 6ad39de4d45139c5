package contract_test

import (
	"testing"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckDeployment(t *testing.T) {
	breaks(t, prodRow(t), "deployment",
		brokenPromise{"a second Deployment", func(m *contract.Manifest) { m.Deployments = append(m.Deployments, m.Deployments[0]) },
			"Deployment: Too many: 2: must have at most 1 item"},
	)
}
