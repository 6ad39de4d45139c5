package contract_test

import (
	"testing"

	"github.com/hubkit/hubkit/internal/contract"
)

func TestCheckHAHealth(t *testing.T) {
	breaks(t, haRow(t), "ha-health",
		brokenPromise{"liveness on readyz", func(m *contract.Manifest) { haHub(m).LivenessProbe.HTTPGet.Path = contract.Readyz },
			`livenessProbe.httpGet.path: Invalid value: "/v2/readyz": want /v2/livez: on /v2/readyz a healthy standby (503) would be restarted forever`},
		brokenPromise{"readiness on readyz", func(m *contract.Manifest) { haHub(m).ReadinessProbe.HTTPGet.Path = contract.Readyz },
			`readinessProbe.httpGet.path: Invalid value: "/v2/readyz": want /v2/livez`},
		brokenPromise{"no startup probe", func(m *contract.Manifest) { haHub(m).StartupProbe = nil },
			"startupProbe: Required value: time for the Hub to start"},
	)
}
