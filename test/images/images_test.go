package images

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/image"
	"github.com/hubkit/hubkit/test/testenv"
)

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		image, version, want, err string
	}{
		{image: "singleton", version: "v1.2.3", want: "ghcr.io/hubkit/singleton:v1.2.3"},
		{image: "pause", version: "3.10", want: "hubkit.dev/pause:3.10"},
		{image: "hub-standin", version: "docker.io/library/highbyte:4.3.3", want: "docker.io/library/highbyte:4.3.3"},
		{image: "busybox", version: "docker.io/kindest/local-path-helper:v20241212-8ac705d0", want: "docker.io/kindest/local-path-helper:v20241212-8ac705d0"},
		{image: "minio-standin", version: "quay.io/minio/minio:RELEASE.2024-12-18T13-15-44Z", want: "quay.io/minio/minio:RELEASE.2024-12-18T13-15-44Z"},
		{image: "nope", err: `no image "nope": want one of singleton, hub-standin, hub-standin-next, busybox, minio-standin, pause`},
	} {
		t.Run(tc.image+"/"+tc.version, func(t *testing.T) {
			spec, err := Lookup(tc.image)
			if tc.err != "" {
				assert.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			ref, err := spec.Ref(tc.version)
			require.NoError(t, err)
			assert.Equal(t, tc.want, ref.String())
		})
	}
}

// The stand-in's image carries what the Hub's image has and hubkit's init
// containers use: a shell and cp, appData as the Hub ships it (a default
// settings file and a template), and java in the runtime directory, for HA
// mode's command, in a second layer.
func TestStandinImageCarriesAShellAndTheDefaultAppData(t *testing.T) {
	built, err := image.Make(context.Background(), testenv.RepoRoot(t), Standin(), "docker.io/library/highbyte:test", "", t.TempDir())
	require.NoError(t, err)
	layers, err := built.Image.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 2, "the binary, then the extra files")
	got := files(t, layers[1])
	assert.Equal(t, map[string]string{
		"bin/busybox": "755",
		"bin/sh":      "-> busybox",
		"bin/cp":      "-> busybox",
		"bin/mv":      "-> busybox",
		"usr/local/highbyte/appData/intelligencehub-settings.json":                 "644",
		"usr/local/highbyte/appData/intelligencehub-systemvariables.json.template": "644",
		"usr/bin/java":                      "-> /usr/local/bin/standin",
		"usr/local/highbyte/runtime/README": "644",
	}, got)
	cfg, err := built.Image.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("%d:%d", hub.UID, hub.UID), cfg.Config.User, "it runs as the Hub's uid, as base/ runs the Hub")
}

// The next version's stand-in is the stand-in with one more variable: the
// journal format it writes.
func TestStandinNextWritesTheNextJournalFormat(t *testing.T) {
	built, err := image.Make(context.Background(), testenv.RepoRoot(t), StandinNext(), "docker.io/library/highbyte:next", "", t.TempDir())
	require.NoError(t, err)
	cfg, err := built.Image.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, []string{"HUBKIT_STANDIN_VERSION=next", "HUBKIT_STANDIN_JOURNAL_FORMAT=2"}, cfg.Config.Env)
}

// The helper pods' busybox is files alone: no binary of ours, one layer,
// a shell as its entrypoint.
func TestBusyboxIsItsFilesAlone(t *testing.T) {
	built, err := image.Make(context.Background(), testenv.RepoRoot(t), Busybox(), "docker.io/library/busybox:test", "", t.TempDir())
	require.NoError(t, err)
	layers, err := built.Image.Layers()
	require.NoError(t, err)
	assert.Len(t, layers, 1)
	cfg, err := built.Image.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, []string{"/bin/sh"}, cfg.Config.Entrypoint)
}

// MinIO's stand-in is where MinIO's chart looks in MinIO's image: a shell,
// /usr/bin/docker-entrypoint.sh, executable, and minio in /usr/bin on PATH.
func TestMinIOStandinIsWhereTheChartLooks(t *testing.T) {
	built, err := image.Make(context.Background(), testenv.RepoRoot(t), MinIO(), "quay.io/minio/minio:test", "", t.TempDir())
	require.NoError(t, err)
	layers, err := built.Image.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 2, "the binary, then the extra files")
	got := files(t, layers...)
	assert.Equal(t, map[string]string{
		"usr/bin/minio":                "755",
		"bin/busybox":                  "755",
		"bin/sh":                       "-> busybox",
		"usr/bin/docker-entrypoint.sh": "755",
	}, got)
	cfg, err := built.Image.ConfigFile()
	require.NoError(t, err)
	assert.Contains(t, cfg.Config.Env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
}

// files lists the files in layers: a regular file by its mode in octal, a
// link as "-> " and its target.
func files(t *testing.T, layers ...v1.Layer) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		require.NoError(t, err)
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			switch h.Typeflag {
			case tar.TypeSymlink:
				got[h.Name] = "-> " + h.Linkname
			case tar.TypeReg:
				got[h.Name] = fmt.Sprintf("%o", h.Mode)
			}
		}
		require.NoError(t, rc.Close())
	}
	return got
}
