package contract

import (
	appsv1 "k8s.io/api/apps/v1"
)

// What components/high-availability gives an HA group, and the names it
// reads (docs/high-availability.md), beside its labels (names.HAMembersLabel,
// names.HARoleLabel) and the Hub's endpoints (hub.Livez, hub.Readyz).
const (
	// HALabeler is the sidecar that writes names.HARoleLabel, from the image
	// HALabelerImage (internal/image.HARole, held equal by its test).
	HALabeler      = "ha-role"
	HALabelerImage = "ghcr.io/hubkit/ha-role"
	// The member's node id and the database's JDBC URI, as environment
	// variables of the Hub's container.
	HANodeIDEnv = "POD_NAME"
	HAJDBCEnv   = "HUB_JDBC_URI"
	// HADatabaseSecret holds the JDBC URI at HADatabaseKey: CloudNativePG's
	// <cluster>-app Secret (components/cloudnative-pg), or one you make.
	HADatabaseSecret = "hbih-db-app"
	HADatabaseKey    = "jdbc-uri"
)

// hubStatefulSet is an HA group's StatefulSet and the Hub's workload in it,
// or nils when check ha-group says there is none the checks can read.
func hubStatefulSet(m *Manifest, want Expect) (*appsv1.StatefulSet, *workload) {
	if want.Members <= 0 {
		return nil, nil
	}
	w := hubWorkload(m, want)
	if w == nil {
		return nil, nil
	}
	return &m.StatefulSets[0], w
}
