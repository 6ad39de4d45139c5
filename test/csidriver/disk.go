package csidriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Disk is the node's storage for tests: a sparse image file in Dir on a
// loop device, formatted btrfs and mounted at Dir/pool, for the driver's
// Pool. Like the real node, it owns what it sets up: Stop undoes each step
// Start took, in reverse order, also after a failed start: it unmounts
// every mount of its file system (a volume's bind mounts first, wherever
// they are, then the pool), detaches the loop device and removes Dir. A
// run killed before Stop leaves Dir behind; CleanDisks finds such a disk
// by its image's name and undoes it.
type Disk struct {
	dir  string
	loop string
	undo []step
}

type step struct {
	what string
	do   func() error
}

// The image and mount point's names in a disk's directory.
const (
	diskImage = "disk.img"
	diskPool  = "pool"
)

// StartDisk makes a disk of size bytes (sparse: it takes what is written)
// in dir, which must not exist yet. On error it has undone what it did.
func StartDisk(ctx context.Context, dir string, size int64) (d *Disk, err error) {
	for _, c := range []string{"losetup", "mkfs.btrfs", "btrfs"} {
		if _, err := exec.LookPath(c); err != nil {
			return nil, fmt.Errorf("%s is not on PATH: run `make tools`, which installs Debian's btrfs-progs (losetup is util-linux's)", c)
		}
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("a btrfs disk on a loop device needs root (uid %d)", os.Geteuid())
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	disk := &Disk{dir: dir}
	defer func() {
		if err != nil {
			if stopErr := disk.Stop(); stopErr != nil {
				err = fmt.Errorf("%w (and undoing the start: %v)", err, stopErr)
			}
			d = nil
		}
	}()
	for _, s := range []struct {
		what string
		do   func(context.Context) error
	}{
		{"make " + dir, func(context.Context) error {
			if err := os.Mkdir(dir, 0o700); err != nil {
				return err
			}
			disk.onStop("remove "+dir, func() error { return removeUnmounted(dir) })
			return nil
		}},
		{"make the sparse image", func(context.Context) error {
			f, err := os.Create(disk.image())
			if err != nil {
				return err
			}
			return errors.Join(f.Truncate(size), f.Close())
		}},
		{"attach a loop device", func(ctx context.Context) error {
			out, err := command(ctx, "losetup", "--find", "--show", disk.image())
			if err != nil {
				return err
			}
			disk.loop = strings.TrimSpace(string(out))
			disk.onStop("detach "+disk.loop, func() error { return detach(disk.loop) })
			return nil
		}},
		{"format it btrfs", func(ctx context.Context) error {
			_, err := command(ctx, "mkfs.btrfs", "-q", "-f", disk.loop)
			return err
		}},
		{"mount it", func(context.Context) error {
			if err := os.Mkdir(disk.Pool(), 0o700); err != nil {
				return err
			}
			disk.onStop("unmount "+disk.loop+"'s file system", func() error { return unmountSource(disk.loop) })
			return unix.Mount(disk.loop, disk.Pool(), "btrfs", 0, "")
		}},
	} {
		if err := s.do(ctx); err != nil {
			return nil, fmt.Errorf("btrfs disk %s: %s: %w", dir, s.what, err)
		}
	}
	return disk, nil
}

// Pool is the file system's mount point, the driver's Options.Pool.
func (d *Disk) Pool() string { return filepath.Join(d.dir, diskPool) }

func (d *Disk) image() string { return filepath.Join(d.dir, diskImage) }

func (d *Disk) onStop(what string, do func() error) { d.undo = append(d.undo, step{what, do}) }

// Stop undoes everything StartDisk did, in reverse order, and reports every
// step that failed. It may be called more than once.
func (d *Disk) Stop() error {
	var errs []error
	for i := len(d.undo) - 1; i >= 0; i-- {
		if err := d.undo[i].do(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.undo[i].what, err))
		}
	}
	d.undo = nil
	return errors.Join(errs...)
}

// CleanDisks undoes the disks that runs killed before Stop left in parent:
// each is a directory there with a disk's image, whose run alive says is
// gone. Its loop devices are those whose backing file is that image (the
// kernel names it), its mounts those of that loop device; the directory
// is removed last, and only once nothing is mounted in it.
func CleanDisks(parent string, alive func(name string) bool) error {
	entries, err := os.ReadDir(parent)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		dir := filepath.Join(parent, e.Name())
		if _, err := os.Stat(filepath.Join(dir, diskImage)); err != nil || !e.IsDir() || alive(e.Name()) {
			continue
		}
		if err := cleanDisk(dir); err != nil {
			errs = append(errs, fmt.Errorf("stale disk %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

func cleanDisk(dir string) error {
	loops, err := loopsOf(filepath.Join(dir, diskImage))
	if err != nil {
		return err
	}
	for _, l := range loops {
		if err := unmountSource(l); err != nil {
			return err
		}
		if err := detach(l); err != nil {
			return err
		}
	}
	return removeUnmounted(dir)
}

// removeUnmounted removes dir unless something is still mounted in it,
// which removing would reach through.
func removeUnmounted(dir string) error {
	mounts, err := readMounts()
	if err != nil {
		return err
	}
	for _, m := range mounts {
		if m.point == dir || strings.HasPrefix(m.point, dir+"/") {
			return fmt.Errorf("not removing %s: %s is still mounted on %s", dir, m.source, m.point)
		}
	}
	return os.RemoveAll(dir)
}

// loopsOf are the loop devices backed by image.
func loopsOf(image string) ([]string, error) {
	devs, err := filepath.Glob("/sys/block/loop*/loop/backing_file")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range devs {
		b, err := os.ReadFile(f)
		if err == nil && strings.TrimSpace(string(b)) == image {
			out = append(out, "/dev/"+filepath.Base(filepath.Dir(filepath.Dir(f))))
		}
	}
	return out, nil
}

// unmountSource unmounts every mount of the file system on device (the
// pool and its volumes' bind mounts), the deepest first.
func unmountSource(device string) error {
	mounts, err := readMounts()
	if err != nil {
		return err
	}
	var points []string
	for _, m := range mounts {
		if m.source == device {
			points = append(points, m.point)
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, p := range points {
		if err := unix.Unmount(p, 0); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

func detach(loop string) error {
	_, err := command(context.Background(), "losetup", "--detach", loop)
	return err
}

func command(ctx context.Context, name string, args ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(stderr)))
	}
	return out, nil
}
