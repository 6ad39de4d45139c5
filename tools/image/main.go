// Command image builds the singleton function's OCI image without a Docker
// engine: the static binary in one layer of an otherwise empty image, run as
// nobody (65534), entrypoint the function. It writes an OCI layout and a
// tarball that `docker load` and `crane push` take.
//
//	go run ./tools/image -binary build/image/singleton -out build/image -version v0.1.0
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where the function lives in the image, and who runs it.
const (
	Entrypoint = "/usr/local/bin/singleton"
	User       = "65534:65534"
	Repository = "ghcr.io/hubkit/singleton"
)

func main() {
	binary := flag.String("binary", "", "the static singleton binary (CGO_ENABLED=0)")
	out := flag.String("out", "build/image", "directory for oci/ and singleton.tar")
	version := flag.String("version", "dev", "image version (tag and label)")
	revision := flag.String("revision", "", "source revision (label)")
	flag.Parse()
	if err := run(*binary, *out, *version, *revision); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(binary, out, version, revision string) error {
	img, err := Build(binary, version, revision)
	if err != nil {
		return err
	}
	ref, err := name.NewTag(Repository + ":" + version)
	if err != nil {
		return fmt.Errorf("tag: %w", err)
	}
	if err := os.RemoveAll(filepath.Join(out, "oci")); err != nil {
		return err
	}
	p, err := layout.Write(filepath.Join(out, "oci"), empty.Index)
	if err != nil {
		return fmt.Errorf("OCI layout: %w", err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref.String()})); err != nil {
		return fmt.Errorf("OCI layout: %w", err)
	}
	if err := tarball.WriteToFile(filepath.Join(out, "singleton.tar"), ref, img); err != nil {
		return fmt.Errorf("tarball: %w", err)
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s@%s -> %s/oci, %s/singleton.tar\n", ref, digest, out, out)
	return nil
}

// Build makes the image from the binary: one layer, no shell, no libc.
func Build(binary, version, revision string) (v1.Image, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("read the binary: %w", err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return tarOf(bin) }, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	labels := map[string]string{
		"org.opencontainers.image.title":       "singleton",
		"org.opencontainers.image.description": "KRM function that keeps single-instance stateful workloads single",
		"org.opencontainers.image.source":      "https://github.com/hubkit/hubkit",
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.licenses":    "Apache-2.0",
	}
	if revision != "" {
		labels["org.opencontainers.image.revision"] = revision
	}
	return mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: "amd64",
		OS:           "linux",
		Created:      v1.Time{Time: time.Unix(0, 0).UTC()}, // reproducible
		Config: v1.Config{
			Entrypoint: []string{Entrypoint},
			User:       User,
			WorkingDir: "/",
			Labels:     labels,
		},
	})
}

// tarOf is the layer: the binary at Entrypoint, owned by root, executable by all.
func tarOf(bin []byte) (io.ReadCloser, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, dir := range []string{"usr/", "usr/local/", "usr/local/bin/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: Entrypoint[1:], Mode: 0o755, Size: int64(len(bin)), ModTime: time.Unix(0, 0)}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
}
