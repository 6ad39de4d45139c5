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
		if err := make1(s, version, out, revision, modified); err != nil {
			return err
		}
		built++
	}
	if built == 0 {
		return fmt.Errorf("no image %q: want one of %s", name, strings.Join(names(), ", "))
	}
	return nil
}

// make1 builds one image and, given the source's commit and a Go package
// to read them from, writes its provenance and SBOM beside it.
func make1(s image.Spec, version, out, revision string, modified bool) error {
	ctx := context.Background()
	if revision == "" || s.Package == "" {
		b, err := image.Make(ctx, ".", s, version, revision, out)
		if err != nil {
			return err
		}
		digest, err := b.Image.Digest()
		if err != nil {
			return fmt.Errorf("image %s: digest: %w", s.Name, err)
		}
		fmt.Printf("%s@%s -> %s/, %s\n", b.Ref, digest, b.Layout, b.Tar)
		return nil
	}
	m, err := attest.Make(ctx, ".", s, version, revision, modified, out)
	if err != nil {
		return err
	}
	fmt.Printf("%s@%s -> %s/, %s\n  %s (SLSA v1), %s (CycloneDX)\n", m.Ref, m.Digest, m.Layout, m.Tar, m.Provenance, m.SBOM)
	return nil
}
