// Command release-image signs the image make image wrote, offline, with
// the publisher's key (internal/imagesign): in both signature formats, its
// provenance and SBOM as signed attestations. It writes the image with
// them to an OCI layout (`cosign load --dir` pushes it to a registry) and
// verifies that layout with the public key before it says it is done.
//
//	release-image -key cosign.key [-pub cosign.pub] [-cosign cosign] -image DIR [-provenance FILE] [-sbom FILE] -out DIR
//
// The predicates default to those make image writes beside DIR
// (internal/attest.Files).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hubkit/hubkit/internal/attest"
	"github.com/hubkit/hubkit/internal/imagesign"
)

func main() {
	key := flag.String("key", "", "the publisher's private key (its password in COSIGN_PASSWORD)")
	pub := flag.String("pub", "", "its public key (default: -key's, .pub for .key)")
	cosign := flag.String("cosign", "cosign", "the cosign CLI")
	image := flag.String("image", "", "the OCI layout make image wrote")
	provenance := flag.String("provenance", "", "the image's SLSA provenance (default: make image's, beside -image)")
	sbom := flag.String("sbom", "", "the image's CycloneDX SBOM (default: make image's, beside -image)")
	out := flag.String("out", "", "where the signed image's OCI layout is written")
	flag.Parse()
	if *key == "" || *image == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: release-image -key cosign.key [-pub cosign.pub] [-cosign cosign] -image DIR [-provenance FILE] [-sbom FILE] -out DIR")
		os.Exit(2)
	}
	p, b := attest.Files(filepath.Dir(*image), filepath.Base(*image))
	if *provenance == "" {
		*provenance = p
	}
	if *sbom == "" {
		*sbom = b
	}
	if *pub == "" {
		*pub = strings.TrimSuffix(*key, ".key") + ".pub"
	}
	s := imagesign.Signer{Cosign: *cosign, Key: *key, Env: imagesign.Offline(os.Environ())}
	v, err := imagesign.Release(context.Background(), s, *pub, *image, *provenance, *sbom, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "release-image:", err)
		os.Exit(1)
	}
	fmt.Printf("signed %s (%s) and verified it with %s: provenance from %s, SBOM of %d modules\npush it: cosign load --dir %s <repository>\n",
		*out, v.Digest, *pub, v.Source, v.Modules, *out)
}
