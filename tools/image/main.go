// Command image builds one of hubkit's OCI images without a Docker engine
// (see internal/image): it compiles the image's Go package statically and
// writes build/image/<name>/ (an OCI layout) and build/image/<name>.tar.
//
//	go run ./tools/image -image singleton -version v0.1.0
//	go run ./tools/image -image hub-standin -version docker.io/library/highbyte:4.3.3
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/hubkit/hubkit/internal/image"
)

func main() {
	which := flag.String("image", "singleton", "which image: singleton, hub-standin or pause")
	version := flag.String("version", "dev", "the tag; for hub-standin the whole name (repository:tag)")
	out := flag.String("out", "build/image", "directory for <name>/ (OCI layout) and <name>.tar")
	revision := flag.String("revision", "", "source revision (label)")
	flag.Parse()
	if err := run(*which, *version, *out, *revision); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(which, version, out, revision string) error {
	built, err := image.Make(context.Background(), ".", which, version, revision, out)
	if err != nil {
		return err
	}
	digest, err := built.Image.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s@%s -> %s/, %s\n", built.Ref, digest, built.Layout, built.Tar)
	return nil
}
