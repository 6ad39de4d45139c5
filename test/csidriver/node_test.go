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

func capability(mode csi.VolumeCapability_AccessMode_Mode) *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode},
	}
}

// A second NodePublishVolume of one volume, as the CSI spec's table for a
// plugin with SINGLE_NODE_MULTI_WRITER says: Kubernetes hands a
// ReadWriteOncePod claim over as SINGLE_NODE_SINGLE_WRITER, and a second
// target path is refused while the first has it, the message naming the
// volume and that target.
func TestSecondPublish(t *testing.T) {
	const (
		single = csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER
		multi  = csi.VolumeCapability_AccessMode_SINGLE_NODE_MULTI_WRITER
		writer = csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER
		reader = csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY
	)
	disk := startDisk(t)
	d := newDriver(t, disk)
	ctx := context.Background()
	for _, tc := range []struct {
		name          string
		first, second csi.VolumeCapability_AccessMode_Mode
		sameTarget    bool
		readOnly      bool // the second call's readonly flag
		want          codes.Code
	}{
		{name: "ReadWriteOncePod: a second target is refused", first: single, second: single, want: codes.FailedPrecondition},
		{name: "ReadWriteOncePod: the same call again is OK", first: single, second: single, sameTarget: true, want: codes.OK},
		{name: "ReadWriteOncePod: the same target read-only is ALREADY_EXISTS", first: single, second: single, sameTarget: true, readOnly: true, want: codes.AlreadyExists},
		{name: "ReadWriteOncePod first, ReadWriteOnce second: refused", first: single, second: multi, want: codes.FailedPrecondition},
		{name: "ReadWriteOnce first, ReadWriteOncePod second: refused", first: multi, second: single, want: codes.FailedPrecondition},
		{name: "ReadWriteOnce twice: two targets share it", first: multi, second: multi, want: codes.OK},
		{name: "the old SINGLE_NODE_WRITER: one target only", first: writer, second: writer, want: codes.FailedPrecondition},
		{name: "SINGLE_NODE_READER_ONLY: one target only", first: reader, second: reader, want: codes.FailedPrecondition},
		{name: "MULTI_NODE_MULTI_WRITER: refused, a volume is on one node", first: csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER, want: codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cv, err := controller{d: d}.CreateVolume(ctx, &csi.CreateVolumeRequest{
				Name: t.Name(), VolumeCapabilities: []*csi.VolumeCapability{capability(single)},
				CapacityRange: &csi.CapacityRange{RequiredBytes: 16 << 20},
			})
			require.NoError(t, err)
			id := cv.GetVolume().GetVolumeId()
			first := filepath.Join(disk.dir, "pods", "first", id)
			second := filepath.Join(disk.dir, "pods", "second", id)
			if tc.sameTarget {
				second = first
			}
			n := node{d: d}
			_, err = n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: id, TargetPath: first, VolumeCapability: capability(tc.first)})
			if tc.second == csi.VolumeCapability_AccessMode_UNKNOWN {
				assert.Equal(t, tc.want, status.Code(err), "%v", err)
				return
			}
			require.NoError(t, err)
			t.Cleanup(func() {
				for _, target := range []string{second, first} {
					_, err := n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: id, TargetPath: target})
					assert.NoError(t, err)
				}
				_, err := controller{d: d}.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id})
				assert.NoError(t, err)
			})
			_, err = n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: id, TargetPath: second, VolumeCapability: capability(tc.second), Readonly: tc.readOnly})
			require.Equal(t, tc.want, status.Code(err), "%v", err)
			if tc.want == codes.FailedPrecondition {
				assert.Contains(t, status.Convert(err).Message(), "volume "+id+" is published at "+first)
			}
		})
	}
}

// Once the target that had a ReadWriteOncePod volume is unpublished, the
// next pod's target gets it; and the volume cannot be deleted while it is
// published.
func TestPublishAfterUnpublish(t *testing.T) {
	disk := startDisk(t)
	d := newDriver(t, disk)
	ctx := context.Background()
	single := capability(csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER)
	cv, err := controller{d: d}.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "hub", VolumeCapabilities: []*csi.VolumeCapability{single}})
	require.NoError(t, err)
	id := cv.GetVolume().GetVolumeId()
	n := node{d: d}
	old, next := filepath.Join(disk.dir, "old"), filepath.Join(disk.dir, "next")

	_, err = n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: id, TargetPath: old, VolumeCapability: single})
	require.NoError(t, err)
	_, err = controller{d: d}.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id})
	assert.Equal(t, codes.FailedPrecondition, status.Code(err), "%v", err)
	_, err = n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: id, TargetPath: old})
	require.NoError(t, err)
	assert.NoDirExists(t, old)
	_, err = n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: id, TargetPath: next, VolumeCapability: single})
	require.NoError(t, err)
	_, err = n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: id, TargetPath: next})
	require.NoError(t, err)
	_, err = controller{d: d}.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id})
	require.NoError(t, err)
}
