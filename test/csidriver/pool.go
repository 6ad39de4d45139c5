package csidriver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
)

// pool is the btrfs file system the volumes live in, as the driver sees
// it: subvolumes volumes/<id> and snapshots/<id>, and state.json.
type pool struct {
	dir string
	// mount is the pool's own entry in the mount table: its device and
	// the subvolume path it mounts, which a volume's bind mounts share.
	mount mountEntry
}

// state is what the driver knows of its volumes and snapshots, keyed by
// ID. It is written whole, atomically, after every change.
type state struct {
	Volumes   map[string]*volume   `json:"volumes"`
	Snapshots map[string]*snapshot `json:"snapshots"`
}

type volume struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Capacity int64  `json:"capacity"`
	// Snapshot is the snapshot the volume was created from, if any.
	Snapshot string `json:"snapshot,omitempty"`
	// Published are the target paths it is bind-mounted on.
	Published []publication `json:"published,omitempty"`
}

type publication struct {
	Target   string                               `json:"target"`
	Mode     csi.VolumeCapability_AccessMode_Mode `json:"mode"`
	ReadOnly bool                                 `json:"readOnly"`
	Flags    []string                             `json:"flags,omitempty"`
}

type snapshot struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Volume  string    `json:"volume"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
}

const stateFile = "state.json"

// openPool checks that dir is a btrfs mount point, enables quotas on it
// (qgroups: the volumes' capacities) and makes its two directories.
func openPool(ctx context.Context, dir string) (*pool, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("btrfs"); err != nil {
		return nil, errors.New("btrfs is not on PATH: run `make tools`, which installs Debian's btrfs-progs")
	}
	mounts, err := readMounts()
	if err != nil {
		return nil, err
	}
	p := &pool{dir: dir}
	found := false
	for _, m := range mounts {
		if m.point == dir { // the last mount on dir is the one in effect
			p.mount, found = m, true
		}
	}
	if !found || p.mount.fsType != "btrfs" {
		return nil, errors.New("not the mount point of a btrfs file system")
	}
	if _, err := btrfs(ctx, "quota", "enable", dir); err != nil {
		return nil, err
	}
	for _, d := range []string{"volumes", "snapshots"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *pool) volumePath(id string) string   { return VolumeDir(p.dir, id) }
func (p *pool) snapshotPath(id string) string { return filepath.Join(p.dir, "snapshots", id) }

// volumeRoot is a volume's path inside the file system, as the mount table
// shows it for a bind mount of the volume.
func (p *pool) volumeRoot(id string) string { return filepath.Join(p.mount.root, "volumes", id) }

func (p *pool) load() (*state, error) {
	st := &state{Volumes: map[string]*volume{}, Snapshots: map[string]*snapshot{}}
	data, err := os.ReadFile(filepath.Join(p.dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("%s: %w", stateFile, err)
	}
	return st, nil
}

// save writes the state to a new file and renames it over the old one, so
// that a crash leaves one or the other.
func (p *pool) save(st *state) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(p.dir, stateFile+".new")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(p.dir, stateFile))
	}
	if err != nil {
		return fmt.Errorf("save %s: %w", stateFile, err)
	}
	return nil
}

// createVolume makes a volume's subvolume, empty or as a writable
// snapshot of a snapshot, limited to capacity bytes. A subvolume left by
// a call that failed halfway is replaced.
func (p *pool) createVolume(ctx context.Context, id, fromSnapshot string, capacity int64) error {
	path := p.volumePath(id)
	if _, err := os.Stat(path); err == nil {
		if err := p.deleteSubvolume(ctx, path); err != nil {
			return err
		}
	}
	var err error
	if fromSnapshot == "" {
		_, err = btrfs(ctx, "subvolume", "create", path)
	} else {
		_, err = btrfs(ctx, "subvolume", "snapshot", p.snapshotPath(fromSnapshot), path)
	}
	if err != nil {
		return err
	}
	if err := p.limit(ctx, id, capacity); err != nil {
		return errors.Join(err, p.deleteSubvolume(ctx, path))
	}
	return nil
}

// limit sets the volume's qgroup limit: the bytes it may reference.
func (p *pool) limit(ctx context.Context, id string, capacity int64) error {
	_, err := btrfs(ctx, "qgroup", "limit", fmt.Sprint(capacity), p.volumePath(id))
	return err
}

func (p *pool) deleteVolume(ctx context.Context, id string) error {
	return p.deleteSubvolume(ctx, p.volumePath(id))
}

// createSnapshot takes a read-only snapshot of a volume: atomic, and
// holding every write that returned before it.
func (p *pool) createSnapshot(ctx context.Context, id, volumeID string) error {
	path := p.snapshotPath(id)
	if _, err := os.Stat(path); err == nil {
		if err := p.deleteSubvolume(ctx, path); err != nil {
			return err
		}
	}
	_, err := btrfs(ctx, "subvolume", "snapshot", "-r", p.volumePath(volumeID), path)
	return err
}

func (p *pool) deleteSnapshot(ctx context.Context, id string) error {
	return p.deleteSubvolume(ctx, p.snapshotPath(id))
}

// deleteSubvolume deletes a subvolume, if it is there, and then tries to
// destroy its qgroup: btrfs refuses while it still frees the subvolume's
// extents, and such a stale qgroup limits nothing, so that refusal is not
// an error.
func (p *pool) deleteSubvolume(ctx context.Context, path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	out, err := btrfs(ctx, "inspect-internal", "rootid", path)
	if err != nil {
		return err
	}
	if _, err := btrfs(ctx, "subvolume", "delete", path); err != nil {
		return err
	}
	_, _ = btrfs(ctx, "qgroup", "destroy", "0/"+strings.TrimSpace(string(out)), p.dir)
	return nil
}

// space is the pool's size and its free bytes, as statfs counts them.
func (p *pool) space() (size, free int64, err error) {
	var s unix.Statfs_t
	if err := unix.Statfs(p.dir, &s); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", p.dir, err)
	}
	return int64(s.Blocks) * s.Bsize, int64(s.Bavail) * s.Bsize, nil
}

// btrfs runs btrfs-progs' command and returns its output, or an error
// with it.
func btrfs(ctx context.Context, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "btrfs", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("btrfs %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}
