// Package hub holds what HighByte documents about the Intelligence Hub's
// files ("Application Settings", "Git Deployment Integration", "Application
// State" in its user guide): the one place the stand-in that plays the Hub
// (test/standin) and the contract its renders keep (internal/contract)
// both read them from.
package hub

import (
	"encoding/json"
	"fmt"
)

const (
	// AppData is where the Hub keeps all of its state.
	AppData = "/usr/local/highbyte/appData"
	// SettingsFile is the application settings, read from appData at start
	// unless SettingsFileEnv names another; UI changes are written back.
	SettingsFile    = "intelligencehub-settings.json"
	SettingsFileEnv = "HIGHBYTE_SETTINGS_FILE"
	// DeploymentFileEnv names the deployment file: the Git repositories and
	// fragments layered into the project at start; an error there stops it.
	DeploymentFileEnv = "HIGHBYTE_DEPLOYMENT_FILE"
	// CertificateStoreFile, in appData, holds the key that encrypts the
	// secrets inside the configuration; made at first start when absent.
	CertificateStoreFile = "intelligencehub-certificatestore.pkcs12"
	// OtelCollectorEnv names the OpenTelemetry collector, http://<host:port>,
	// on the builds of HighByte's development guide; the current guide's
	// image takes the command `start otel <host:port>` instead
	// (components/telemetry).
	OtelCollectorEnv = "OTEL_COLLECTOR_ENDPOINT"
)

// CheckJSONObject wants b to be one JSON object, as the settings and the
// deployment file are.
func CheckJSONObject(b []byte) error {
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	return nil
}
