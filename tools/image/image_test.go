package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/internal/testenv"
)

// Build the image as `make image` does, open it from its OCI layout, and
// check who runs what: user 65534, the function as entrypoint, the labels,
// and a binary in the layer that is static and runs a ResourceList.
func TestImage(t *testing.T) {
	root := testenv.RepoRoot(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "singleton")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./plugin")
	build.Dir, build.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, run(bin, dir, "v0.0.0-test", "abc123"))

	p, err := layout.FromPath(filepath.Join(dir, "oci"))
	require.NoError(t, err)
	index, err := p.ImageIndex()
	require.NoError(t, err)
	manifest, err := index.IndexManifest()
	require.NoError(t, err)
	require.Len(t, manifest.Manifests, 1)
	assert.Equal(t, Repository+":v0.0.0-test", manifest.Manifests[0].Annotations["org.opencontainers.image.ref.name"])
	img, err := index.Image(manifest.Manifests[0].Digest)
	require.NoError(t, err)

	cfg, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, "65534:65534", cfg.Config.User, "runs as nobody")
	assert.Equal(t, []string{"/usr/local/bin/singleton"}, cfg.Config.Entrypoint)
	assert.Empty(t, cfg.Config.Cmd)
	assert.Equal(t, "https://github.com/hubkit/hubkit", cfg.Config.Labels["org.opencontainers.image.source"])
	assert.Equal(t, "v0.0.0-test", cfg.Config.Labels["org.opencontainers.image.version"])
	assert.Equal(t, "abc123", cfg.Config.Labels["org.opencontainers.image.revision"])

	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1, "one layer: the binary, nothing else")
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	extracted := filepath.Join(dir, "from-layer")
	tr := tar.NewReader(rc)
	var files []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if h.Typeflag != tar.TypeReg {
			continue
		}
		files = append(files, h.Name)
		assert.EqualValues(t, 0o755, h.Mode)
		f, err := os.OpenFile(extracted, os.O_CREATE|os.O_WRONLY, 0o755)
		require.NoError(t, err)
		_, err = io.Copy(f, tr)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	assert.Equal(t, []string{"usr/local/bin/singleton"}, files)

	ldd, _ := exec.Command("ldd", extracted).CombinedOutput()
	assert.Contains(t, string(ldd), "not a dynamic executable", "static: the image has no libc")

	input, err := os.ReadFile(filepath.Join(root, "plugin", "singleton", "testdata", "replicas", "above-one-enforce-sets-one", "input.yaml"))
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join(root, "plugin", "singleton", "testdata", "replicas", "above-one-enforce-sets-one", "expected.yaml"))
	require.NoError(t, err)
	var stdout bytes.Buffer
	fn := exec.Command(extracted)
	fn.Stdin, fn.Stdout = bytes.NewReader(input), &stdout
	require.NoError(t, fn.Run())
	assert.Equal(t, string(want), stdout.String(), "the binary in the layer runs the function")
}
