package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hubkit/hubkit/internal/image"
	"github.com/hubkit/hubkit/test/images"
	"github.com/stretchr/testify/require"
)

// The images the real nodes run, built as make image builds them and
// imported as `kind load` does.

// buildImage builds one of hubkit's images as make image does, into a
// folder of its own per version (hex: a version may be a whole name), and
// returns its name and tarball.
func buildImage(ctx context.Context, spec image.Spec, version string) (ref, tar string, err error) {
	out := filepath.Join(e2e.imageDir, fmt.Sprintf("%s-%x", spec.Name, version))
	built, err := image.Make(ctx, e2e.root, spec, version, "", out)
	if err != nil {
		return "", "", err
	}
	return built.Ref.String(), built.Tar, nil
}

// loadImage builds spec's image under ref and imports it into the real
// node's containerd.
func loadImage(t *testing.T, spec image.Spec, ref string) {
	t.Helper()
	_, tar, err := buildImage(context.Background(), spec, ref)
	require.NoError(t, err)
	require.NoError(t, e2e.cluster.Node.Import(context.Background(), tar), "import %s into the real node's containerd", ref)
}

// loadStandin builds the stand-in under ref and imports it into the real
// node's containerd, as `kind load` does, with the restore-point image
// that prod's Hub pod starts with (components/restore-point).
func loadStandin(t *testing.T, ref string) {
	t.Helper()
	loadImage(t, images.Standin(), ref)
	spec := image.RestorePoint()
	loadImage(t, spec, restorePointImage)
}

// restorePointImage is the restore-point image's tag, as
// components/restore-point names it.
const restorePointImage = "dev"
