package csidriver

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// writeFile writes size bytes to path and syncs them, returning the error
// of the first write or sync that fails.
func writeFile(path string, size int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	chunk := bytes.Repeat([]byte{'x'}, 1<<20)
	for size > 0 && err == nil {
		n := min(size, len(chunk))
		_, err = f.Write(chunk[:n])
		size -= n
	}
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// What a volume is, as a workload sees it on its node: its capacity holds
// (a write past it fails with EDQUOT) until ControllerExpandVolume raises
// it; a snapshot is the volume at its moment, whatever is written after;
// a volume restored from it starts from that moment; and a driver that
// restarts knows all of it again.
func TestStorage(t *testing.T) {
	disk, d, c, n, mode, vol := driverWithVolume(t)
	ctx := context.Background()
	assert.Equal(t, int64(32*mib), vol.GetCapacityBytes())
	assert.Equal(t, map[string]string{TopologyKey: testNode}, vol.GetAccessibleTopology()[0].GetSegments())
	target := filepath.Join(disk.dir, "pod")
	_, err := n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: vol.GetVolumeId(), TargetPath: target, VolumeCapability: mode})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: vol.GetVolumeId(), TargetPath: target})
		assert.NoError(t, err)
	})

	t.Run("a write past the capacity fails with EDQUOT", func(t *testing.T) {
		require.NoError(t, writeFile(filepath.Join(target, "fits"), 16*mib))
		err := writeFile(filepath.Join(target, "too-much"), 32*mib)
		require.ErrorIs(t, err, syscall.EDQUOT)
		require.NoError(t, os.Remove(filepath.Join(target, "too-much")))
	})
	t.Run("ControllerExpandVolume raises it at once; NodeExpandVolume confirms it", func(t *testing.T) {
		ex, err := c.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: vol.GetVolumeId(), CapacityRange: &csi.CapacityRange{RequiredBytes: 96 * mib}})
		require.NoError(t, err)
		assert.Equal(t, int64(96*mib), ex.GetCapacityBytes())
		assert.False(t, ex.GetNodeExpansionRequired())
		require.NoError(t, writeFile(filepath.Join(target, "more"), 64*mib))
		nx, err := n.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: vol.GetVolumeId(), VolumePath: target, CapacityRange: &csi.CapacityRange{RequiredBytes: 96 * mib}})
		require.NoError(t, err)
		assert.Equal(t, int64(96*mib), nx.GetCapacityBytes())
		_, err = n.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: vol.GetVolumeId(), VolumePath: target, CapacityRange: &csi.CapacityRange{RequiredBytes: 128 * mib}})
		assert.Equal(t, codes.OutOfRange, status.Code(err), "%v", err)
		require.NoError(t, os.Remove(filepath.Join(target, "more")))
	})

	var snap *csi.Snapshot
	t.Run("a snapshot is the volume at its moment", func(t *testing.T) {
		require.NoError(t, os.WriteFile(filepath.Join(target, "journal"), []byte("before\n"), 0o644))
		cs, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "backup", SourceVolumeId: vol.GetVolumeId()})
		require.NoError(t, err)
		snap = cs.GetSnapshot()
		assert.True(t, snap.GetReadyToUse())
		assert.Equal(t, int64(96*mib), snap.GetSizeBytes(), "a snapshot restores to its volume's capacity")
		require.NoError(t, os.WriteFile(filepath.Join(target, "journal"), []byte("after\n"), 0o644))
		got, err := os.ReadFile(filepath.Join(d.pool.snapshotPath(snap.GetSnapshotId()), "journal"))
		require.NoError(t, err)
		assert.Equal(t, "before\n", string(got))
		err = os.WriteFile(filepath.Join(d.pool.snapshotPath(snap.GetSnapshotId()), "journal"), []byte("changed\n"), 0o644)
		assert.ErrorIs(t, err, syscall.EROFS, "a snapshot is read-only")
	})
	t.Run("a volume restored from the snapshot starts from that moment", func(t *testing.T) {
		require.NotNil(t, snap)
		src := &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: snap.GetSnapshotId()}}}
		_, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{
			Name: "too-small", VolumeCapabilities: []*csi.VolumeCapability{mode}, VolumeContentSource: src,
			CapacityRange: &csi.CapacityRange{RequiredBytes: 32 * mib},
		})
		assert.Equal(t, codes.OutOfRange, status.Code(err), "%v", err)
		cv, err := c.CreateVolume(ctx, &csi.CreateVolumeRequest{
			Name: "restored", VolumeCapabilities: []*csi.VolumeCapability{mode}, VolumeContentSource: src,
			CapacityRange: &csi.CapacityRange{RequiredBytes: 96 * mib},
		})
		require.NoError(t, err)
		assert.Equal(t, snap.GetSnapshotId(), cv.GetVolume().GetContentSource().GetSnapshot().GetSnapshotId())
		got, err := os.ReadFile(filepath.Join(d.pool.volumePath(cv.GetVolume().GetVolumeId()), "journal"))
		require.NoError(t, err)
		assert.Equal(t, "before\n", string(got))
		require.NoError(t, os.WriteFile(filepath.Join(d.pool.volumePath(cv.GetVolume().GetVolumeId()), "journal"), []byte("restored\n"), 0o644))
		_, err = c.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: snap.GetSnapshotId()})
		require.NoError(t, err, "a snapshot does not depend on the volumes made from it")
		got, err = os.ReadFile(filepath.Join(d.pool.volumePath(cv.GetVolume().GetVolumeId()), "journal"))
		require.NoError(t, err)
		assert.Equal(t, "restored\n", string(got))
	})
	t.Run("a restarted driver knows its volumes and who has them", func(t *testing.T) {
		again := newDriver(t, disk)
		_, err := node{d: again}.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{
			VolumeId: vol.GetVolumeId(), TargetPath: filepath.Join(disk.dir, "other-pod"), VolumeCapability: mode,
		})
		assert.Equal(t, codes.FailedPrecondition, status.Code(err), "%v", err)
		ex, err := controller{d: again}.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: vol.GetVolumeId(), CapacityRange: &csi.CapacityRange{RequiredBytes: mib}})
		require.NoError(t, err)
		assert.Equal(t, int64(96*mib), ex.GetCapacityBytes(), "expansion never shrinks")
	})
	t.Run("GetCapacity is the pool's free bytes, for this node only", func(t *testing.T) {
		gc, err := c.GetCapacity(ctx, &csi.GetCapacityRequest{AccessibleTopology: &csi.Topology{Segments: map[string]string{TopologyKey: testNode}}})
		require.NoError(t, err)
		_, free, err := d.pool.space()
		require.NoError(t, err)
		assert.InDelta(t, free, gc.GetAvailableCapacity(), float64(16*mib))
		gc, err = c.GetCapacity(ctx, &csi.GetCapacityRequest{AccessibleTopology: &csi.Topology{Segments: map[string]string{TopologyKey: "elsewhere"}}})
		require.NoError(t, err)
		assert.Zero(t, gc.GetAvailableCapacity())
	})
}
