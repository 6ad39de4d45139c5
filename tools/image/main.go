// Command image builds hubkit's shipped OCI images without a Docker engine
// (internal/image: Function, the singleton function, and HARole, the HA
// group's labeler; their one definition): it compiles each statically and
// writes build/image/<name>/ (an OCI layout), build/image/<name>.tar (for
// docker load or ctr images import) and, for an image of a Go binary, its
// SLSA provenance and CycloneDX SBOM (internal/attest):
// build/image/<name>.provenance.json and build/image/<name>.cdx.json.
//
//	go run ./tools/image -version v0.1.0                 # every shipped image
//	go run ./tools/image -image singleton -version v0.1.0
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hubkit/hubkit/internal/attest"
	"github.com/hubkit/hubkit/internal/image"
)

func main() {
	name := flag.String("image", "", "the image to build, by name ("+strings.Join(names(), ", ")+"); empty: all")
	version := flag.String("version", "dev", "the tag")
	out := flag.String("out", "build/image", "directory for <name>/ (OCI layout) and <name>.tar")
	revision := flag.String("revision", "", "the source's full commit (git rev-parse HEAD): the image's label, and its provenance's source; empty: no provenance or SBOM")
	modified := flag.Bool("modified", false, "the tree holds changes not in -revision (the provenance says so)")
	flag.Parse()
	if err := run(*name, *version, *out, *revision, *modified); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func names() []string {
	var out []string
	for _, s := range image.Shipped() {
		out = append(out, s.Name)
	}
	return out
}

func run(name, version, out, revision string, modified bool) error {
	var built int
	for _, s := range image.Shipped() {
		if name != "" && s.Name != name {
			continue
		}
		b, err := image.Make(context.Background(), ".", s, version, revision, out)
		if err != nil {
			return err
		}
		digest, err := b.Image.Digest()
		if err != nil {
			return fmt.Errorf("image %s: digest: %w", s.Name, err)
		}
		fmt.Printf("%s@%s -> %s/, %s\n", b.Ref, digest, b.Layout, b.Tar)
		if b.Binary != "" && revision != "" {
			build := attest.Build{Image: s.Name, Package: s.Package, Version: version, Revision: revision, Modified: modified}
			if err := writePredicates(b, build, digest.String(), out); err != nil {
				return err
			}
		}
		built++
	}
	if built == 0 {
		return fmt.Errorf("no image %q: want one of %s", name, strings.Join(names(), ", "))
	}
	return nil
}

// writePredicates writes the image's SLSA provenance and CycloneDX SBOM
// beside it, <out>/<name>.provenance.json and <out>/<name>.cdx.json, the
// predicates `cosign attest` takes.
func writePredicates(b image.Built, build attest.Build, digest, out string) error {
	p, err := attest.ForBinary(b.Binary, build, digest)
	if err != nil {
		return err
	}
	for file, body := range map[string][]byte{build.Image + ".provenance.json": p.Provenance, build.Image + ".cdx.json": p.SBOM} {
		if err := os.WriteFile(filepath.Join(out, file), body, 0o644); err != nil {
			return fmt.Errorf("image %s: %w", build.Image, err)
		}
	}
	fmt.Printf("  %s/%s.provenance.json (SLSA v1), %s/%s.cdx.json (CycloneDX)\n", out, build.Image, out, build.Image)
	return nil
}
