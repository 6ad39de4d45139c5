// Package names is hubkit's own vocabulary: the hubkit.dev/* labels and
// annotations, the guard's parameter ConfigMap and the format of its keys,
// an HA group's role label and its values, and the names base/ gives the
// Hub's objects. It is the one home of these strings in Go: the singleton
// function (plugin/), the ha-role sidecar (harole/), the contract
// (internal/contract), the stand-in and the scenarios (test/) read them
// from here, and base/, components/ and guard/ write them in YAML, held
// equal by names_test.go. Write no second copy: import this package
// (TestOneHome fails on a constant or variable elsewhere initialised to
// one of these literals).
//
// What HighByte decides about the Hub (its ports, endpoints, files and
// uid) is in internal/hub. This package holds constants and pure functions
// only, and imports nothing outside internal/, so that the shipped binaries
// may use it.
package names

import (
	"strings"

	"github.com/hubkit/hubkit/internal/hub"
)

// The labels and annotations hubkit reads and writes on workloads and pods.
const (
	// SingletonLabel, on a workload or its pod template, declares it a
	// singleton ("true") or never one ("false").
	SingletonLabel = "hubkit.dev/singleton"
	// HAMembersLabel, on a workload or its pod template, declares it an HA
	// group of that many members ("2"): the one value the function, the
	// contract, the guard and the sidecar's -members follow.
	HAMembersLabel = "hubkit.dev/ha-members"
	// HARoleLabel is an HA group member's role, HARolePrimary or
	// HARoleSecondary, kept by its ha-role sidecar from the Hub's
	// hub.Readyz; the Service selects HARolePrimary.
	HARoleLabel = "hubkit.dev/ha-role"
	// HARolePrimary labels the member whose Hub is primary.
	HARolePrimary = hub.RolePrimary
	// HARoleSecondary labels every other member, and a member until its
	// sidecar has asked its Hub.
	HARoleSecondary = hub.RoleSecondary
	// ClaimAccessReasonAnnotation, not blank, on a pod lets it mount a
	// singleton's or a member's claim that is not its own (a restore, an
	// inspection while the owner is scaled down): the guard admits it.
	ClaimAccessReasonAnnotation = "hubkit.dev/claim-access-reason"
)

// The guard's parameters (guard/): one ConfigMap per namespace that the
// singleton function writes (spec.guard.params) and the guard's bindings
// select by label.
const (
	// GuardParams is the ConfigMap's name.
	GuardParams = "hubkit-singletons"
	// GuardParamsLabel is the label the bindings select it by, with the
	// value GuardParamsValue.
	GuardParamsLabel = "hubkit.dev/guard"
	// GuardParamsValue is GuardParamsLabel's value.
	GuardParamsValue = "params"
	// GuardClaimPrefix opens a singleton claim's key (GuardClaimKey).
	GuardClaimPrefix = "claim."
	// GuardHAPrefix opens an HA group's keys (GuardHAGroupKey,
	// GuardHAClaimKey), beside the singletons' keys.
	GuardHAPrefix = "ha."
)

// The guard's optional verified-images policy (guard/verified-images): the
// namespaces it governs say so with a label; the cluster's list of verified
// image references is one ConfigMap.
const (
	// VerifiedImagesLabel, with the value VerifiedImagesEnforce, puts a
	// namespace under the policy.
	VerifiedImagesLabel = "hubkit.dev/verified-images"
	// VerifiedImagesEnforce is VerifiedImagesLabel's value.
	VerifiedImagesEnforce = "enforce"
	// VerifiedImagesList is the list's name, in VerifiedImagesNamespace.
	VerifiedImagesList = "hubkit-verified-images"
	// VerifiedImagesNamespace is where the list is: an administrator's.
	VerifiedImagesNamespace = "kube-system"
)

// GuardWorkloadKey is a singleton's key, deployment.<name> or
// statefulset.<name>; its value says why the workload is one.
func GuardWorkloadKey(kind, name string) string {
	return strings.ToLower(kind) + "." + name
}

// GuardClaimKey is the key of a claim a singleton's pod mounts,
// claim.<name>; its value lists the workloads allowed to mount it.
func GuardClaimKey(claim string) string {
	return GuardClaimPrefix + claim
}

// GuardHAGroupKey is an HA group's key, ha.statefulset.<name>; its value
// is the member count.
func GuardHAGroupKey(statefulset string) string {
	return GuardHAPrefix + GuardWorkloadKey("StatefulSet", statefulset)
}

// GuardHAClaimKey is the key of an HA group's claim template,
// ha.claim.<template>-<statefulset>; its value is the StatefulSet's name,
// its members' claims <template>-<statefulset>-<ordinal>.
func GuardHAClaimKey(template, statefulset string) string {
	return GuardHAPrefix + GuardClaimKey(template+"-"+statefulset)
}

// The Hub's objects, as base/ names them and every overlay keeps them.
const (
	// Hub is the Hub's workload (a Deployment, or an HA group's
	// StatefulSet), its Service and ServiceAccount, and the value of its
	// app.kubernetes.io/instance label.
	Hub = "hbih"
	// HubApp is the value of the Hub's app.kubernetes.io/name label.
	HubApp = "intelligence-hub"
	// HubSelector selects the Hub's pods, as a label selector string.
	HubSelector = "app.kubernetes.io/name=" + HubApp + ",app.kubernetes.io/instance=" + Hub
	// HubContainer is the Hub's container in its pod.
	HubContainer = "hub"
	// AppDataClaim is the claim that holds the single Hub's hub.AppData.
	AppDataClaim = "hbih-appdata"
	// AppDataVolume is the pod's volume mounted at hub.AppData.
	AppDataVolume = "appdata"
)

// A fleet's names (internal/fleet): the labels on every object of a site's
// render, and what components/remote-hub and components/system-variables
// read.
const (
	// SiteLabel is the site an object belongs to (fleet/sites/<site>), and
	// a site Application's.
	SiteLabel = "hubkit.dev/site"
	// WaveLabel is the wave of the site: the label the ApplicationSet's
	// rollout steps select site Applications by.
	WaveLabel = "hubkit.dev/wave"
	// FleetLabel, on a site cluster's Argo CD cluster Secret, is its
	// fleet's name (fleet/fleet.yaml).
	FleetLabel = "hubkit.dev/fleet"
	// SiteLabelPrefix and a site's name make the label that says, on a site
	// cluster's Argo CD cluster Secret, that the cluster runs that site.
	SiteLabelPrefix = "site.hubkit.dev/"
	// RemoteConfigConfigMap holds Git's part of the Hub's remote config.
	RemoteConfigConfigMap = "hbih-remote-config"
	// RemoteTokenVolume is the pod's volume of the Secret that holds the
	// Network Group's token.
	RemoteTokenVolume = "remote-token"
	// SystemVariablesConfigMap holds the site's system variables.
	SystemVariablesConfigMap = "hbih-system-variables"
)

// Restore points (kubectl hubkit): the labels on each VolumeSnapshot of a
// Hub's claim that hubkit takes.
const (
	// RestorePointLabel marks a restore point and says who took it:
	// RestorePointManual, or RestorePointUpgrade before an upgrade.
	RestorePointLabel = "hubkit.dev/restore-point"
	// RestorePointManual is a restore point a person asked for.
	RestorePointManual = "manual"
	// RestorePointUpgrade is the restore point taken before an upgrade.
	RestorePointUpgrade = "before-upgrade"
	// HubVersionLabel is the Hub's version (its image's tag) the restore
	// point holds the data of.
	HubVersionLabel = "hubkit.dev/hub-version"
	// ClaimLabel is the claim the restore point is of.
	ClaimLabel = "hubkit.dev/claim"
)

// The restore point before an upgrade (components/restore-point).
const (
	// UpgradeToLabel, on a restore point taken before an upgrade, is the
	// version the Hub was upgraded to.
	UpgradeToLabel = "hubkit.dev/upgrade-to"
	// VersionMarkerFile, in appData, holds the version of the Hub that last
	// started on it: the restore-point init container compares it with its
	// pod's.
	VersionMarkerFile = ".hubkit-version"
	// RestorePointContainer is the init container that takes it.
	RestorePointContainer = "restore-point"
)

// ImageRepositoryPrefix opens the name of every image hubkit ships
// (internal/image's Shipped): the function's, the ha-role sidecar's, the
// restore-point init container's.
const ImageRepositoryPrefix = "ghcr.io/hubkit/"
