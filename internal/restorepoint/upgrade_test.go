package restorepoint

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/internal/names"
)

// Where there are no CSI snapshots, the restore point before an upgrade is
// a copy of appData on the copy's claim: taken when, and only when, the
// version changes, whole or not at all, and appData's version follows only
// once it is.
func TestTheCopyBeforeAnUpgrade(t *testing.T) {
	ctx := context.Background()
	appData, copyTo := t.TempDir(), t.TempDir()
	var log bytes.Buffer
	u := Upgrade{AppData: appData, CopyTo: copyTo, Log: &log}
	marker := func() string {
		b, err := os.ReadFile(filepath.Join(appData, names.VersionMarkerFile))
		require.NoError(t, err)
		return string(b)
	}
	require.NoError(t, os.MkdirAll(filepath.Join(appData, "project"), 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(appData, "project", "journal.log"), []byte("written by 4.3.3\n"), 0o640))
	require.NoError(t, os.Symlink("project/journal.log", filepath.Join(appData, "latest")))

	t.Run("a fresh claim: its version written, nothing copied", func(t *testing.T) {
		require.NoError(t, u.run(ctx, nil, "hbih-appdata", "4.3.3", time.Now()))
		assert.Equal(t, "4.3.3\n", marker())
		assert.NoDirExists(t, filepath.Join(copyTo, "appData"))
	})
	t.Run("the same version: nothing", func(t *testing.T) {
		require.NoError(t, u.run(ctx, nil, "hbih-appdata", "4.3.3", time.Now()))
		assert.NoDirExists(t, filepath.Join(copyTo, "appData"))
	})
	t.Run("another version: the old one's appData copied, then the new version written", func(t *testing.T) {
		require.NoError(t, u.run(ctx, nil, "hbih-appdata", "4.4.0", time.Now()))
		assert.Equal(t, "4.4.0\n", marker())
		b, err := os.ReadFile(filepath.Join(copyTo, "appData", "project", "journal.log"))
		require.NoError(t, err)
		assert.Equal(t, "written by 4.3.3\n", string(b))
		info, err := os.Stat(filepath.Join(copyTo, "appData", "project", "journal.log"))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o640), info.Mode().Perm(), "modes kept")
		target, err := os.Readlink(filepath.Join(copyTo, "appData", "latest"))
		require.NoError(t, err)
		assert.Equal(t, "project/journal.log", target, "links kept as links")
		b, err = os.ReadFile(filepath.Join(copyTo, "appData", names.VersionMarkerFile))
		require.NoError(t, err)
		assert.Equal(t, "4.3.3\n", string(b), "the copy is the old version's, its marker with it")
		assert.Contains(t, log.String(), "upgrade of claim hbih-appdata from version 4.3.3 to 4.4.0")
	})
	t.Run("a copy that cannot be taken stops the upgrade, appData's version unchanged", func(t *testing.T) {
		require.NoError(t, os.WriteFile(filepath.Join(appData, "project", "journal.log"), []byte("written by 4.4.0\n"), 0o640))
		blocked := Upgrade{AppData: appData, CopyTo: filepath.Join(t.TempDir(), "not-a-dir"), Log: &log}
		require.NoError(t, os.WriteFile(blocked.CopyTo, nil, 0o644))
		err := blocked.run(ctx, nil, "hbih-appdata", "4.5.0", time.Now())
		require.ErrorContains(t, err, "the copy before the upgrade from 4.4.0 to 4.5.0")
		assert.ErrorContains(t, err, "The upgrade waits, appData untouched")
		assert.Equal(t, "4.4.0\n", marker())
	})
	t.Run("the next copy replaces the last one whole", func(t *testing.T) {
		require.NoError(t, u.run(ctx, nil, "hbih-appdata", "4.5.0", time.Now()))
		b, err := os.ReadFile(filepath.Join(copyTo, "appData", "project", "journal.log"))
		require.NoError(t, err)
		assert.Equal(t, "written by 4.4.0\n", string(b))
		assert.NoDirExists(t, filepath.Join(copyTo, "appData.new"))
	})
}
