// Command image builds the singleton function's OCI image without a Docker
// engine (internal/image.Function, its one definition): it compiles the
// function statically and writes build/image/singleton/ (an OCI layout) and
// build/image/singleton.tar (for docker load or ctr images import).
//
//	go run ./tools/image -version v0.1.0
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/hubkit/hubkit/internal/image"
)

func main() {
	version := flag.String("version", "dev", "the tag")
	out := flag.String("out", "build/image", "directory for singleton/ (OCI layout) and singleton.tar")
	revision := flag.String("revision", "", "source revision (label)")
	flag.Parse()
	if err := run(*version, *out, *revision); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(version, out, revision string) error {
	built, err := image.Make(context.Background(), ".", image.Function(), version, revision, out)
	if err != nil {
		return err
	}
	digest, err := built.Image.Digest()
	if err != nil {
		return fmt.Errorf("image: digest: %w", err)
	}
	fmt.Printf("%s@%s -> %s/, %s\n", built.Ref, digest, built.Layout, built.Tar)
	return nil
}
