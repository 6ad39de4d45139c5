package csidriver

import (
	"path/filepath"
	"testing"

	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
	"github.com/stretchr/testify/require"
)

// TestSanity runs csi-sanity, the CSI community's conformance suite, on
// the driver over its unix socket, on a btrfs disk of its own. What the
// driver does not offer (staging, ControllerPublish, ListVolumes, volume
// stats and health, cloning, GetSnapshot, ModifyVolume), sanity skips by
// the capabilities the driver reports.
func TestSanity(t *testing.T) {
	disk := startDisk(t)
	d := newDriver(t, disk)
	socket := filepath.Join(disk.dir, "csi.sock")
	l, err := Listen(socket)
	require.NoError(t, err)
	s := d.Server()
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)

	cfg := sanity.NewTestConfig()
	cfg.Address = socket
	cfg.TargetPath = filepath.Join(disk.dir, "target")
	cfg.StagingPath = filepath.Join(disk.dir, "staging")
	cfg.TestVolumeSize = 16 << 20
	cfg.TestVolumeExpandSize = 32 << 20
	cfg.IdempotentCount = 3
	sanity.Test(t, cfg)
}
