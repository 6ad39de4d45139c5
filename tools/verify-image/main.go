// Command verify-image checks an image before it runs (internal/imagecheck):
// its signature with the publisher's public key, its SLSA provenance
// (signed, its subject the image's digest) and its CycloneDX SBOM
// (signed), with cosign, offline. It reads cosign's tag format and the
// Sigstore bundle as an OCI 1.1 referrer.
//
//	verify-image -key cosign.pub [-cosign cosign] IMAGE|LAYOUT
//
// IMAGE is a reference (a tag is resolved to its digest, which is what is
// checked); LAYOUT an OCI layout's directory as `cosign save --dir` writes
// it.
//
// Exit 0 and what was verified, or exit 1 and the check that failed with
// cosign's reason.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/hubkit/hubkit/internal/imagecheck"
)

func main() {
	key := flag.String("key", "", "the publisher's public key (cosign.pub)")
	cosign := flag.String("cosign", "cosign", "the cosign CLI")
	flag.Parse()
	if *key == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: verify-image -key cosign.pub [-cosign cosign] IMAGE|LAYOUT")
		os.Exit(2)
	}
	ref := flag.Arg(0)
	v, err := imagecheck.Checker{Cosign: *cosign, Key: *key}.Verify(context.Background(), ref)
	if err != nil {
		var r *imagecheck.Refusal
		if errors.As(err, &r) {
			fmt.Fprintf(os.Stderr, "verify-image: refused %s: %v\n", ref, r)
		} else {
			fmt.Fprintf(os.Stderr, "verify-image: %s: %v\n", ref, err)
		}
		os.Exit(1)
	}
	fmt.Printf("verified %s (%s): signed by %s; provenance from %s; SBOM of %d modules\n", v.Ref, v.Digest, *key, v.Source, v.Modules)
}
