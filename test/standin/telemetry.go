package standin

import (
	"errors"
	"fmt"

	"github.com/hubkit/hubkit/internal/hub"
)

// Telemetry is where the Hub was told to send its OpenTelemetry metrics and
// logs, in either form the Hub takes it (components/telemetry): its
// entrypoint's command `start otel <host:port>` ("otel-command"), or
// OTEL_COLLECTOR_ENDPOINT ("otel-env"). The stand-in sends nothing; GET
// /debug/standin reports what it was told.
type Telemetry struct {
	Collector string `json:"collector,omitempty"`
	Form      string `json:"form,omitempty"`
}

// TelemetryFrom reads the collector from the container's arguments and
// environment. `start otel` without an endpoint is refused, as the image
// refuses it (no collector runs in the container), and so is a collector
// named both ways.
func TelemetryFrom(args []string, getenv func(string) string) (Telemetry, error) {
	var t Telemetry
	if len(args) >= 2 && args[0] == "start" && args[1] == "otel" {
		if len(args) != 3 || args[2] == "" {
			return t, errors.New("start otel needs the collector's host:port, and only that: no collector runs in the container")
		}
		t = Telemetry{Collector: args[2], Form: "otel-command"}
	}
	if env := getenv(hub.OtelCollectorEnv); env != "" {
		if t.Collector != "" {
			return Telemetry{}, fmt.Errorf("the collector is named twice: start otel %s and %s=%s", t.Collector, hub.OtelCollectorEnv, env)
		}
		t = Telemetry{Collector: env, Form: "otel-env"}
	}
	return t, nil
}
