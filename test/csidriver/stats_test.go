package csidriver

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// NodeGetVolumeStats is the volume's qgroup where it is published: its
// capacity as the total, what was written as used, and the capacity an
// expansion gave it; elsewhere the volume is not found.
func TestVolumeStats(t *testing.T) {
	disk, _, c, n, mode, vol := driverWithVolume(t)
	ctx := context.Background()
	id := vol.GetVolumeId()
	target := filepath.Join(disk.dir, "pod")
	_, err := n.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: id, VolumePath: target})
	assert.Equal(t, codes.NotFound, status.Code(err), "not published there: %v", err)
	_, err = n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: id, TargetPath: target, VolumeCapability: mode})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: id, TargetPath: target})
		assert.NoError(t, err)
	})
	require.NoError(t, writeFile(filepath.Join(target, "data"), 8*mib))

	stats := func() *csi.VolumeUsage {
		t.Helper()
		rsp, err := n.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: id, VolumePath: target})
		require.NoError(t, err)
		require.Len(t, rsp.GetUsage(), 1)
		return rsp.GetUsage()[0]
	}
	u := stats()
	assert.Equal(t, csi.VolumeUsage_BYTES, u.GetUnit())
	assert.Equal(t, int64(32*mib), u.GetTotal(), "the capacity")
	assert.GreaterOrEqual(t, u.GetUsed(), int64(8*mib), "what was written")
	assert.Less(t, u.GetUsed(), int64(9*mib))
	assert.Equal(t, u.GetTotal()-u.GetUsed(), u.GetAvailable())

	_, err = c.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: id, CapacityRange: &csi.CapacityRange{RequiredBytes: 64 * mib}})
	require.NoError(t, err)
	assert.Equal(t, int64(64*mib), stats().GetTotal(), "the expanded capacity")
	used, limit, err := Usage(ctx, VolumeDir(disk.Pool(), id))
	require.NoError(t, err)
	assert.Equal(t, int64(64*mib), limit, "the qgroup limit, as the host reads it")
	assert.Equal(t, stats().GetUsed(), used)

	_, err = n.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: "vol-none", VolumePath: target})
	assert.Equal(t, codes.NotFound, status.Code(err), "%v", err)
}
