package attest

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hubkit/hubkit/internal/image"
)

// Made is an image `make image` built, with its predicates' files.
type Made struct {
	image.Built
	Digest     v1.Hash
	Provenance string // the SLSA provenance's file
	SBOM       string // the CycloneDX SBOM's file
}

// Make builds spec's image at version from the repository at root into
// out, as image.Make does, and writes its predicates beside it (Files):
// the source at revision, a full commit, modified when the tree held
// changes not in it.
func Make(ctx context.Context, root string, spec image.Spec, version, revision string, modified bool, out string) (Made, error) {
	if spec.Package == "" {
		return Made{}, fmt.Errorf("image %s: no Go package compiled in: no provenance or SBOM to make", spec.Name)
	}
	b, err := image.Make(ctx, root, spec, version, revision, out)
	if err != nil {
		return Made{}, err
	}
	digest, err := b.Image.Digest()
	if err != nil {
		return Made{}, fmt.Errorf("image %s: digest: %w", spec.Name, err)
	}
	p, err := ForBinary(b.Binary, Build{Image: spec.Name, Package: spec.Package, Version: version, Revision: revision, Modified: modified}, digest.String())
	if err != nil {
		return Made{}, err
	}
	m := Made{Built: b, Digest: digest}
	if m.Provenance, m.SBOM, err = p.Write(out, spec.Name); err != nil {
		return Made{}, err
	}
	return m, nil
}
