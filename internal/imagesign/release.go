package imagesign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hubkit/hubkit/internal/imagecheck"
)

// Offline is env with every request beyond loopback sent to a proxy that
// is not there: what cosign would fetch from the network fails, and says
// so, rather than happening.
func Offline(env []string) []string {
	return append(env, "HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=127.0.0.1,localhost")
}

// Release signs the one image of the OCI layout at image (as make image
// writes it) with s's key, offline, in both formats, and attaches its
// provenance and SBOM (the predicate files); it writes the image with its
// signatures and attestations to out, an OCI layout as `cosign save`
// writes it (`cosign load --dir out <repository>` pushes all of it to a
// registry), and verifies out with the public key pub before it returns.
// The image is signed on a registry of its own on loopback, which is gone
// when Release returns.
func Release(ctx context.Context, s Signer, pub, image, provenance, sbom, out string) (imagecheck.Verified, error) {
	index, err := layout.ImageIndexFromPath(image)
	if err != nil {
		return imagecheck.Verified{}, fmt.Errorf("release: %s: %w", image, err)
	}
	m, err := index.IndexManifest()
	if err != nil {
		return imagecheck.Verified{}, fmt.Errorf("release: %s: %w", image, err)
	}
	if len(m.Manifests) != 1 {
		return imagecheck.Verified{}, fmt.Errorf("release: %s holds %d images: want the one make image writes", image, len(m.Manifests))
	}
	img, err := index.Image(m.Manifests[0].Digest)
	if err != nil {
		return imagecheck.Verified{}, fmt.Errorf("release: %s: %w", image, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return imagecheck.Verified{}, fmt.Errorf("release: a registry on loopback: %w", err)
	}
	srv := &http.Server{Handler: registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		_ = srv.Close()
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("release: the loopback registry: %v", err)
		}
	}()
	repo, err := name.NewRepository(ln.Addr().String() + "/hubkit/release")
	if err != nil {
		return imagecheck.Verified{}, fmt.Errorf("release: %w", err)
	}
	if err := remote.Write(repo.Tag("release"), img, remote.WithContext(ctx)); err != nil {
		return imagecheck.Verified{}, fmt.Errorf("release: push to the loopback registry: %w", err)
	}
	digest := repo.Digest(m.Manifests[0].Digest.String())
	for _, f := range Formats() {
		if err := s.Publish(ctx, f, digest, provenance, sbom); err != nil {
			return imagecheck.Verified{}, fmt.Errorf("release: %s format: %w", f, err)
		}
	}
	if err := os.RemoveAll(out); err != nil {
		return imagecheck.Verified{}, fmt.Errorf("release: %w", err)
	}
	if err := s.Run(ctx, "save", "--dir", out, digest.String()); err != nil {
		return imagecheck.Verified{}, fmt.Errorf("release: %w", err)
	}
	return imagecheck.Checker{Cosign: s.Cosign, Key: pub, Env: s.Env}.Verify(ctx, out)
}
