package imagesign_test

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/internal/attest"
	"github.com/hubkit/hubkit/internal/image"
	"github.com/hubkit/hubkit/internal/imagecheck"
	"github.com/hubkit/hubkit/internal/imagesign"
	"github.com/hubkit/hubkit/test/testenv"
)

const commit = "0123456789abcdef0123456789abcdef01234567"

// TestAReleaseIsSignedOfflineAndVerifiesWhereverItIsLoaded: make image's
// layout, signed by Release with a key made here, is a layout that
// verifies with the public key; loaded into another registry with cosign
// load, it verifies there by its digest, signatures and attestations with
// it.
func TestAReleaseIsSignedOfflineAndVerifiesWhereverItIsLoaded(t *testing.T) {
	ctx := context.Background()
	cosign := testenv.Cosign(t)
	dir := t.TempDir()
	s := imagesign.Signer{Cosign: cosign, Key: filepath.Join(dir, "cosign.key"), Dir: dir,
		Env: imagesign.Offline(append(os.Environ(), "HOME="+dir, "COSIGN_PASSWORD="))}
	require.NoError(t, s.Run(ctx, "generate-key-pair"))
	pub := filepath.Join(dir, "cosign.pub")

	made, err := attest.Make(ctx, testenv.RepoRoot(t), image.Function(), "v0.0.0-test", commit, false, filepath.Join(dir, "image"))
	require.NoError(t, err)
	digest := made.Digest

	out := filepath.Join(dir, "signed")
	v, err := imagesign.Release(ctx, s, pub, made.Layout, made.Provenance, made.SBOM, out)
	require.NoError(t, err)
	assert.Equal(t, digest, v.Digest)
	assert.Equal(t, attest.Source+"@"+commit, v.Source)

	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/hubkit/singleton")
	require.NoError(t, err)
	require.NoError(t, s.Run(ctx, "load", "--dir", out, repo.String()))
	loaded, err := imagecheck.Checker{Cosign: cosign, Key: pub, Env: s.Env}.Verify(ctx, repo.Digest(digest.String()).String())
	require.NoError(t, err)
	assert.Equal(t, digest, loaded.Digest)
}
