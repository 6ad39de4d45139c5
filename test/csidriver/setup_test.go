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
