package csidriver

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// A disk leaves nothing on the host: Stop unmounts the pool and the bind
// mounts of its volumes, detaches the loop device and removes its
// directory; CleanDisks does the same for one a killed run left.
func TestDisk(t *testing.T) {
	requireRoot(t)
	parent, elsewhere := t.TempDir(), t.TempDir()
	for _, tc := range []struct {
		name string
		undo func(t *testing.T, d *Disk)
	}{
		{name: "Stop", undo: func(t *testing.T, d *Disk) { require.NoError(t, d.Stop()) }},
		{name: "CleanDisks, for a run that is gone", undo: func(t *testing.T, d *Disk) {
			require.NoError(t, CleanDisks(parent, func(string) bool { return false }))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := StartDisk(context.Background(), filepath.Join(parent, "disk"), 256<<20)
			require.NoError(t, err)
			loop := d.loop
			require.Equal(t, []string{loop}, loops(t, d.image()))
			bound := filepath.Join(elsewhere, "bound")
			require.NoError(t, os.MkdirAll(bound, 0o755))
			require.NoError(t, unix.Mount(d.Pool(), bound, "", unix.MS_BIND, ""))
			assert.Len(t, mountsOf(t, loop), 2)

			tc.undo(t, d)
			assert.Empty(t, mountsOf(t, loop))
			assert.Empty(t, loops(t, d.image()))
			assert.NoDirExists(t, d.dir)
			require.NoError(t, os.Remove(bound))
		})
	}
	t.Run("a start that fails halfway undoes what it did", func(t *testing.T) {
		dir := filepath.Join(parent, "small")
		_, err := StartDisk(context.Background(), dir, 1<<20) // too small for btrfs
		require.ErrorContains(t, err, "format it btrfs")
		files, err := filepath.Glob("/sys/block/loop*/loop/backing_file")
		require.NoError(t, err)
		for _, f := range files {
			b, _ := os.ReadFile(f)
			assert.NotContains(t, string(b), dir, "%s: the loop device is detached", f)
		}
		assert.NoDirExists(t, dir)
	})
	t.Run("CleanDisks leaves a live run's disk alone", func(t *testing.T) {
		d, err := StartDisk(context.Background(), filepath.Join(parent, "live"), 256<<20)
		require.NoError(t, err)
		defer func() { require.NoError(t, d.Stop()) }()
		require.NoError(t, CleanDisks(parent, func(name string) bool { return name == "live" }))
		assert.Len(t, mountsOf(t, d.loop), 1)
	})
}

func mountsOf(t *testing.T, device string) []string {
	t.Helper()
	var out []string
	for _, m := range mounts(t) {
		if m.source == device {
			out = append(out, m.point)
		}
	}
	return out
}

func loops(t *testing.T, image string) []string {
	t.Helper()
	l, err := loopsOf(image)
	require.NoError(t, err)
	return l
}

func mounts(t *testing.T) []mountEntry {
	t.Helper()
	m, err := readMounts()
	require.NoError(t, err)
	return m
}
