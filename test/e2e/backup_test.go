package e2e

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/hubkit/hubkit/test/cluster"
	"github.com/hubkit/hubkit/test/pins"
	"github.com/hubkit/hubkit/test/render"
)

// backup/ holds what the backups are made of: a Velero Schedule of prod's
// namespace with CSI snapshots, and the runbook's VolumeSnapshot and the
// claim made back from it. Each is applied to the real apiserver with
// Velero's and the snapshot API's own CRDs installed, with no warning (an
// unknown field is one), and holds prod's facts: its namespace, size and
// access mode.
func TestBackupObjectsValidateAgainstTheirCRDs(t *testing.T) {
	// The releases whose own CRDs validate them: Velero's Schedule, and the
	// CSI snapshot API that Velero and the restore runbook use.
	velero, snapshotAPI := pins.Get(t, "VELERO_MODULE"), pins.Get(t, "SNAPSHOT_API_MODULE")
	installCRD(t, filepath.Join(moduleDir(t, velero), "config", "crd", "v1", "bases", "velero.io_schedules.yaml"))
	for _, crd := range []string{"volumesnapshotclasses", "volumesnapshotcontents", "volumesnapshots"} {
		installCRD(t, filepath.Join(moduleDir(t, snapshotAPI), "config", "crd", "snapshot.storage.k8s.io_"+crd+".yaml"))
	}
	prod := overlayRow(t, "prod")

	t.Run("the Velero Schedule: prod's namespace, CSI snapshots, no file-system backup", func(t *testing.T) {
		out, err := render.Krusty(filepath.Join(e2e.root, "backup", "velero"))
		require.NoError(t, err)
		objs, err := cluster.Objects(out)
		require.NoError(t, err)
		require.Len(t, objs, 1)
		s := objs[0]
		assert.Equal(t, "Schedule", s.GetKind())
		assert.Equal(t, "velero", s.GetNamespace(), "Velero reads Schedules in its own namespace")
		ns, _, _ := unstructured.NestedStringSlice(s.Object, "spec", "template", "includedNamespaces")
		assert.Equal(t, []string{prod.Namespace}, ns)
		snap, _, _ := unstructured.NestedBool(s.Object, "spec", "template", "snapshotVolumes")
		assert.True(t, snap)
		fs, found, _ := unstructured.NestedBool(s.Object, "spec", "template", "defaultVolumesToFsBackup")
		assert.True(t, found && !fs, "a file-system backup needs a pod on the ReadWriteOncePod claim")
		ensureNamespace(t, "velero")
		appliesWithoutWarning(t, objs)
	})

	t.Run("the runbook's VolumeSnapshot and the claim made from it", func(t *testing.T) {
		snapshot := manifests(t, filepath.Join("backup", "restore", "volumesnapshot.yaml"))
		claim := manifests(t, filepath.Join("backup", "restore", "claim-from-snapshot.yaml"))
		for _, o := range append(snapshot, claim...) {
			assert.Equal(t, prod.Namespace, o.GetNamespace())
		}
		c := claim[0]
		storage, _, _ := unstructured.NestedString(c.Object, "spec", "resources", "requests", "storage")
		assert.Equal(t, prod.Storage, storage, "prod's size")
		modes, _, _ := unstructured.NestedStringSlice(c.Object, "spec", "accessModes")
		assert.Equal(t, []string{string(prod.AccessMode)}, modes, "prod's access mode")
		source, _, _ := unstructured.NestedString(c.Object, "spec", "dataSource", "name")
		assert.Equal(t, snapshot[0].GetName(), source, "the claim is made from the runbook's snapshot")
		name, _, _ := unstructured.NestedString(snapshot[0].Object, "spec", "source", "persistentVolumeClaimName")
		assert.Equal(t, c.GetName(), name, "the snapshot is of the claim it restores")
		ensureNamespace(t, prod.Namespace)
		appliesWithoutWarning(t, append(snapshot, claim...))
	})
}

// appliesWithoutWarning server-side applies objs as a dry run and wants no warning: the
// server warns of every field its schema does not know.
func appliesWithoutWarning(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	a := applier(t)
	require.NoError(t, a.Apply(context.Background(), objs, true))
	assert.Empty(t, a.Warnings())
}
