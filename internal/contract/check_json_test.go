package contract_test

import (
	"testing"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/internal/hub"
)

func TestCheckJSON(t *testing.T) {
	breaks(t, prodRow(t), "json",
		brokenPromise{"settings that are not JSON", func(m *contract.Manifest) { settingsConfigMap(t, m).Data[hub.SettingsFile] = `{"settings": ` },
			"data[intelligencehub-settings.json]: Invalid value: not valid JSON (unexpected end of JSON input)"},
	)
}
