package csidriver

import "embed"

// Manifests are the objects that make the driver a cluster's storage, for
// the e2e cluster to apply once the driver runs on its real node: the
// CSIDriver, the default StorageClass and the default VolumeSnapshotClass
// (which needs the VolumeSnapshot CRDs of tools/pins.mk's
// SNAPSHOT_API_MODULE, read from the Go module cache as test/e2e does).
//
//go:embed manifests/*.yaml
var Manifests embed.FS
