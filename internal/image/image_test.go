package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/internal/contract"
	"github.com/hubkit/hubkit/test/testenv"
)

// Build the image as `make image` does, open it from its OCI layout, and
// check who runs what: user 65534, the function as entrypoint, the labels,
// the layer listed in rootfs.diff_ids (containerd refuses the image without
// it), and a binary in the layer that is static and runs a ResourceList.
// The real-node tests import this image and the stand-in's into containerd.
func TestSingletonImage(t *testing.T) {
	root := testenv.RepoRoot(t)
	dir := t.TempDir()
	built, err := Make(context.Background(), root, Function(), "v0.0.0-test", "abc123", dir)
	require.NoError(t, err)

	p, err := layout.FromPath(built.Layout)
	require.NoError(t, err)
	index, err := p.ImageIndex()
	require.NoError(t, err)
	manifest, err := index.IndexManifest()
	require.NoError(t, err)
	require.Len(t, manifest.Manifests, 1)
	assert.Equal(t, "ghcr.io/hubkit/singleton:v0.0.0-test", manifest.Manifests[0].Annotations["org.opencontainers.image.ref.name"])
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
	diffID, err := layers[0].DiffID()
	require.NoError(t, err)
	assert.Equal(t, "layers", cfg.RootFS.Type)
	assert.Equal(t, []v1.Hash{diffID}, cfg.RootFS.DiffIDs, "the config lists the layer, as containerd requires")
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

func TestRef(t *testing.T) {
	for _, tc := range []struct {
		name    string
		spec    Spec
		version string
		want    string
		err     string
	}{
		{name: "a repository's tag", spec: Function(), version: "v1.2.3", want: "ghcr.io/hubkit/singleton:v1.2.3"},
		{name: "no repository: the version is the whole name", spec: Spec{Name: "nameless"}, version: "docker.io/library/highbyte:4.3.3", want: "docker.io/library/highbyte:4.3.3"},
		{name: "no repository and a bare tag", spec: Spec{Name: "nameless"}, version: "4.3.3", err: "tag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := tc.spec.Ref(tc.version)
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, ref.String())
		})
	}
}

// The HA group's labeler: one static binary as nobody, its entrypoint the
// one the component's sidecar runs, which answers -h without a cluster.
func TestHARoleImage(t *testing.T) {
	root := testenv.RepoRoot(t)
	dir := t.TempDir()
	built, err := Make(context.Background(), root, HARole(), "v0.0.0-test", "abc123", dir)
	require.NoError(t, err)
	assert.Equal(t, "ghcr.io/hubkit/ha-role:v0.0.0-test", built.Ref.String())
	assert.Equal(t, contract.HALabelerImage, HARole().Repository, "the image the contract wants in an HA group")
	cfg, err := built.Image.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, "65534:65534", cfg.Config.User)
	assert.Equal(t, []string{"/usr/local/bin/ha-role"}, cfg.Config.Entrypoint)
	layers, err := built.Image.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	extracted := filepath.Join(dir, "ha-role-from-layer")
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if h.Typeflag != tar.TypeReg {
			continue
		}
		assert.Equal(t, "usr/local/bin/ha-role", h.Name)
		f, err := os.OpenFile(extracted, os.O_CREATE|os.O_WRONLY, 0o755)
		require.NoError(t, err)
		_, err = io.Copy(f, tr)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	ldd, _ := exec.Command("ldd", extracted).CombinedOutput()
	assert.Contains(t, string(ldd), "not a dynamic executable", "static: the image has no libc")
	out, _ := exec.Command(extracted, "-h").CombinedOutput()
	assert.Contains(t, string(out), "-readyz")
}

// Two builds of each shipped image from one commit give one digest: what
// a user who rebuilds an image to compare it with a release gets (make
// image twice, or once beside the release's digest).
func TestEveryShippedImageIsReproducible(t *testing.T) {
	root := testenv.RepoRoot(t)
	for _, spec := range Shipped() {
		t.Run(spec.Name, func(t *testing.T) {
			var digests []v1.Hash
			for range 2 {
				built, err := Make(context.Background(), root, spec, "v0.0.0-test", "abc123", t.TempDir())
				require.NoError(t, err)
				d, err := built.Image.Digest()
				require.NoError(t, err)
				digests = append(digests, d)
			}
			assert.Equal(t, digests[0], digests[1], "two builds of %s, one digest", spec.Name)
		})
	}
}
