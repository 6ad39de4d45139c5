package csidriver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/test/testenv"
)

// testNode is the node ID the tests' drivers run as.
const testNode = "csi-test-node"

// requireRoot fails, saying why, when the test cannot mount: the machine
// and CI run as root, so a skip would only hide that the test never ran.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("%s needs root (uid %d): it attaches a loop device and bind-mounts volumes, as the driver does on a node; "+
			"run it as root (make test and CI do)", t.Name(), os.Geteuid())
	}
}

// startDisk makes a 1 GiB btrfs disk for the test in build/csidriver/,
// after cleaning disks that killed runs left there. Its directory is the
// test's: the socket and target paths go there too, and Stop removes it.
func startDisk(t *testing.T) *Disk {
	t.Helper()
	requireRoot(t)
	parent := filepath.Join(testenv.RepoRoot(t), "build", "csidriver")
	require.NoError(t, os.MkdirAll(parent, 0o755))
	require.NoError(t, CleanDisks(parent, func(name string) bool {
		pid, err := strconv.Atoi(strings.SplitN(name, "-", 2)[0])
		return err != nil || processExists(pid)
	}))
	dir := filepath.Join(parent, fmt.Sprintf("%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_")))
	d, err := StartDisk(context.Background(), dir, 1<<30)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Stop()) })
	return d
}

func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// newDriver opens a driver on the disk's pool.
func newDriver(t *testing.T, disk *Disk) *Driver {
	t.Helper()
	d, err := New(context.Background(), Options{
		Name: "csi.hubkit.test", Version: "test", NodeID: testNode, Pool: disk.Pool(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	return d
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// mib is a mebibyte, the tests' unit of capacity.
const mib = 1 << 20

// driverWithVolume is a driver on a fresh disk, its controller and node
// services, and one 32 MiB volume, appdata, made as ReadWriteOncePod
// (SINGLE_NODE_SINGLE_WRITER) asks: the start of every storage test.
func driverWithVolume(t *testing.T) (disk *Disk, d *Driver, c controller, n node, mode *csi.VolumeCapability, vol *csi.Volume) {
	t.Helper()
	disk = startDisk(t)
	d = newDriver(t, disk)
	c, n = controller{d: d}, node{d: d}
	mode = capability(csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER)
	cv, err := c.CreateVolume(context.Background(), &csi.CreateVolumeRequest{
		Name: "appdata", VolumeCapabilities: []*csi.VolumeCapability{mode},
		CapacityRange: &csi.CapacityRange{RequiredBytes: 32 * mib},
	})
	require.NoError(t, err)
	return disk, d, c, n, mode, cv.GetVolume()
}
