package standin

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTelemetryFrom(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want Telemetry
		err  string
	}{
		{name: "no arguments, no variable: no telemetry"},
		{name: "start alone: no telemetry", args: []string{"start"}},
		{name: "the entrypoint's command", args: []string{"start", "otel", "otel.monitoring:4318"}, want: Telemetry{Collector: "otel.monitoring:4318", Form: "otel-command"}},
		{name: "the variable", env: "http://otel.monitoring:4318", want: Telemetry{Collector: "http://otel.monitoring:4318", Form: "otel-env"}},
		{name: "start otel without its endpoint", args: []string{"start", "otel"}, err: "start otel needs the collector's host:port"},
		{name: "named both ways", args: []string{"start", "otel", "a:4318"}, env: "http://b:4318", err: "the collector is named twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := TelemetryFrom(tc.args, func(name string) string {
				if name == "OTEL_COLLECTOR_ENDPOINT" {
					return tc.env
				}
				return ""
			})
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
