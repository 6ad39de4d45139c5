// Package hub holds what HighByte documents about the Intelligence Hub: its
// files ("Application Settings", "Git Deployment Integration", "Application
// State" in its user guide), its ports, its health endpoints and the roles
// they report, and the uid hubkit runs it as. It is the one home of these
// facts in Go: the singleton function (plugin/), the ha-role sidecar
// (harole/), the contract its renders keep (internal/contract), the
// stand-in that plays the Hub (test/standin) and the scenarios read them
// from here; base/ and components/ write them in YAML, held equal by
// hub_test.go. Write no second copy. hubkit's own names (hubkit.dev/*
// labels, the guard's parameters, the Hub's object names) live in
// internal/names.
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
	// RemoteConfigFile, in appData, makes the Hub a remote of a central
	// Hub (RemoteConfig); read at start only: a change needs a restart.
	RemoteConfigFile = "intelligencehub-remoteconfig.json"
	// SystemVariablesFile, in appData, gives a project its site's values
	// ({{System.Variables.<name>}}): a JSON list of SystemVariable, read at
	// start; a central Hub can view and change them on its remotes.
	SystemVariablesFile = "intelligencehub-systemvariables.json"
)

// RemoteConfig is RemoteConfigFile, as HighByte documents it: a remote Hub
// connects out to RemoteURL, the central Hub's websocket
// (ws(s)://<host>:45245/websocket), with its Network Group's Token, and is
// known there by ClientID, a GUID: an ID the central has not seen is a new
// hub entry. Name defaults to the machine's name.
type RemoteConfig struct {
	RemoteURL string         `json:"remoteUrl"`
	Token     string         `json:"token"`
	ClientID  string         `json:"clientId"`
	Name      string         `json:"name,omitempty"`
	Features  RemoteFeatures `json:"features"`
}

// RemoteFeatures are what a remote Hub lets its central do.
type RemoteFeatures struct {
	CentralConfig bool `json:"centralConfig"` // configure this Hub remotely
	CentralData   bool `json:"centralData"`   // Central Data
}

// SystemVariable is one entry of SystemVariablesFile.
type SystemVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// The Hub's ports, as its image listens by default, and the names base/
// gives them on the container and the Service.
const (
	HTTPPort         = 45245       // the configuration UI, the REST API and the health endpoints
	HTTPPortName     = "http"      // HTTPPort's name
	MQTTPort         = 1885        // the MQTT broker
	MQTTPortName     = "mqtt"      // MQTTPort's name
	RESTDataPort     = 8885        // the REST data server
	RESTDataPortName = "rest-data" // RESTDataPort's name
)

// The Hub's health endpoints, on HTTPPort (the development guide's "Health
// Checks"; components/health-v2).
const (
	// Livez answers 200 on every live Hub, primary or standby.
	Livez = "/v2/livez"
	// Readyz answers 200 on a started single Hub and on an HA group's
	// primary, 503 on a standby: the role endpoint.
	Readyz = "/v2/readyz"
	// Root is the page every build serves: a Hub without /v2/* is probed
	// there (the singleton function's default probes).
	Root = "/"
)

// Health is the body of Livez and Readyz, as HighByte documents it:
// {"deployment":{"mode":"standalone"}} for a single Hub,
// {"deployment":{"mode":"ha","role":...,"nodeId":...,"primaryNodeId":...}}
// in HA mode. primaryNodeId is left out while a node knows no primary.
type Health struct {
	Deployment Deployment `json:"deployment"`
}

// Deployment is what a Hub says of its place in a deployment (Health).
type Deployment struct {
	Mode          string `json:"mode"`                    // ModeStandalone or ModeHA
	Role          string `json:"role,omitempty"`          // in HA mode: RolePrimary or RoleSecondary
	NodeID        string `json:"nodeId,omitempty"`        // in HA mode: this Hub's node id (HAMain start -n)
	PrimaryNodeID string `json:"primaryNodeId,omitempty"` // in HA mode: the primary's node id, when known
}

// The modes a Hub reports in Health.
const (
	ModeStandalone = "standalone" // a single Hub
	ModeHA         = "ha"         // a member of an HA group
)

// The roles an HA Hub reports in Health.
const (
	RolePrimary   = "primary"   // the one member that acts
	RoleSecondary = "secondary" // a standby
)

// UID is the uid and gid the Hub runs as (base/deployment.yaml's
// runAsUser, runAsGroup and fsGroup): above 10000, so that no host user
// shares it. The stand-in's image is built to run as it.
const UID = 10001

// CheckJSONObject wants b to be one JSON object, as the settings and the
// deployment file are.
func CheckJSONObject(b []byte) error {
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	return nil
}
