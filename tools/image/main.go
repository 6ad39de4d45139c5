// Command image builds hubkit's shipped OCI images without a Docker engine
// (internal/image: Function, the singleton function, and HARole, the HA
// group's labeler; their one definition): it compiles each statically and
// writes build/image/<name>/ (an OCI layout) and build/image/<name>.tar (for
// docker load or ctr images import).
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

	"github.com/hubkit/hubkit/internal/image"
)

func main() {
	name := flag.String("image", "", "the image to build, by name ("+strings.Join(names(), ", ")+"); empty: all")
	version := flag.String("version", "dev", "the tag")
	out := flag.String("out", "build/image", "directory for <name>/ (OCI layout) and <name>.tar")
	revision := flag.String("revision", "", "source revision (label)")
	flag.Parse()
	if err := run(*name, *version, *out, *revision); err != nil {
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

func run(name, version, out, revision string) error {
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
		built++
	}
	if built == 0 {
		return fmt.Errorf("no image %q: want one of %s", name, strings.Join(names(), ", "))
	}
	return nil
}
