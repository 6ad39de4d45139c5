package csidriver

import (
	"embed"
	"path/filepath"
)

// Manifests are the objects that make the driver a cluster's storage, for
// the e2e cluster to apply once the driver runs on its real node: the
// CSIDriver, the default StorageClass and the default VolumeSnapshotClass
// (which needs the VolumeSnapshot CRDs, SnapshotCRDs).
//
//go:embed manifests/*.yaml
var Manifests embed.FS

// SnapshotAPIPin names, in tools/pins.mk, the release of the VolumeSnapshot
// API whose CRDs the e2e cluster installs (and validates backup/ with).
const SnapshotAPIPin = "SNAPSHOT_API_MODULE"

// SnapshotCRDs are the VolumeSnapshot API's CRD files in moduleDir, the
// directory of the SnapshotAPIPin's module, the classes and contents that
// snapshots name first.
func SnapshotCRDs(moduleDir string) []string {
	var files []string
	for _, plural := range []string{"volumesnapshotclasses", "volumesnapshotcontents", "volumesnapshots"} {
		files = append(files, filepath.Join(moduleDir, "config", "crd", "snapshot.storage.k8s.io_"+plural+".yaml"))
	}
	return files
}
