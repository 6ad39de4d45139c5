// Command image builds one of the images the tests use (test/images), as
// `make image` builds the shipped one: the Hub stand-in under the Hub's
// image name, for a kind cluster without HighByte's image, or pause.
//
//	go run ./test/cmd/image -image hub-standin -version docker.io/library/highbyte:4.3.3
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/hubkit/hubkit/internal/image"
	"github.com/hubkit/hubkit/test/images"
)

func main() {
	which := flag.String("image", "hub-standin", "which image: singleton, hub-standin, hub-standin-next, busybox, minio-standin or pause")
	version := flag.String("version", "dev", "the tag; for hub-standin the whole name (repository:tag)")
	out := flag.String("out", "build/image", "directory for <name>/ (OCI layout) and <name>.tar")
	flag.Parse()
	if err := run(*which, *version, *out); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(which, version, out string) error {
	spec, err := images.Lookup(which)
	if err != nil {
		return err
	}
	built, err := image.Make(context.Background(), ".", spec, version, "", out)
	if err != nil {
		return err
	}
	digest, err := built.Image.Digest()
	if err != nil {
		return fmt.Errorf("image %s: digest: %w", which, err)
	}
	fmt.Printf("%s@%s -> %s/, %s\n", built.Ref, digest, built.Layout, built.Tar)
	return nil
}
