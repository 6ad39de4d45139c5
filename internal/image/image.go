// Package image builds hubkit's OCI images without a Docker engine: each is
// one static Go binary in one layer of an otherwise empty image (the Hub
// stand-in adds a second layer: a shell, cp and appData's defaults). It writes
// an OCI layout and a tarball that `docker load`, `crane push` and
// `ctr images import` take.
//
// The image hubkit ships is Function's; the harness's images (the Hub
// stand-in, pause) are defined in test/images with the same Spec.
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/names"
)

// Spec is one image hubkit builds.
type Spec struct {
	Name        string // how `make image` and tests name it
	Package     string // the Go package built into the layer, relative to the repo; empty: no binary, the Entrypoint comes from Extra
	Entrypoint  string // where the binary lives in the image
	User        string // uid:gid it runs as unless the pod says otherwise
	Repository  string // the image's name without a tag; empty: the caller names it
	Description string
	// VersionEnv, when set, is an environment variable the image sets to
	// its version, so the program can report which tag it runs as.
	VersionEnv string
	// Env are further variables (NAME=value) the image sets.
	Env []string
	// Extra are files the image carries beside its binary, in a layer of
	// their own.
	Extra []Extra
}

// Extra is a file in an image: copied from Source (relative to the
// repository, or an absolute path on the build host), or a symbolic link
// to Link. Either is owned by root and readable by all.
type Extra struct {
	Path   string
	Source string
	Link   string
}

// Function is the image hubkit ships: the singleton function, static, as
// user 65534, with no shell. It is the one definition of that image (`make
// image`); the test harness's images are in test/images.
func Function() Spec {
	return Spec{
		Name: "singleton", Package: "./plugin", Entrypoint: "/usr/local/bin/singleton", User: "65534:65534",
		Repository:  names.ImageRepositoryPrefix + "singleton",
		Description: "KRM function that keeps single-instance stateful workloads single",
	}
}

// HARole is the other image hubkit ships: the ha-role sidecar of an HA
// group's members (harole/, components/high-availability), static, as user
// 65534, with no shell. The component names it as Repository:dev, as the
// Argo CD sidecar names the function's image; `make image` builds both.
func HARole() Spec {
	return Spec{
		Name: "ha-role", Package: "./harole", Entrypoint: "/usr/local/bin/ha-role", User: "65534:65534",
		Repository:  names.ImageRepositoryPrefix + "ha-role",
		Description: "Sidecar that labels an HA group's member with its role (" + names.HARoleLabel + "), from the Hub's " + hub.Readyz,
	}
}

// RestorePoint is the restore-point init container of the Hub's pod
// (restorepoint/, components/restore-point): the restore point before an
// upgrade. Static, as user 65534 unless the pod says otherwise, no shell;
// named Repository:dev by the component, as HARole is.
func RestorePoint() Spec {
	return Spec{
		Name: "restore-point", Package: "./restorepoint", Entrypoint: "/usr/local/bin/restore-point", User: "65534:65534",
		Repository:  names.ImageRepositoryPrefix + "restore-point",
		Description: "Init container that takes a restore point of the Hub's claim before an upgrade",
	}
}

// Shipped lists the images hubkit ships, by Name.
func Shipped() []Spec { return []Spec{Function(), HARole(), RestorePoint()} }

// Ref is the image's name at version; for an image without a Repository,
// version is the whole name (repository:tag).
func (s Spec) Ref(version string) (name.Tag, error) {
	full := version
	if s.Repository != "" {
		full = s.Repository + ":" + version
	}
	ref, err := name.NewTag(full, name.StrictValidation)
	if err != nil {
		return name.Tag{}, fmt.Errorf("image %s: tag %q: %w", s.Name, version, err)
	}
	return ref, nil
}

// Built is an image Make wrote.
type Built struct {
	Ref    name.Tag // its name
	Image  v1.Image
	Tar    string // the tarball, for docker load and ctr images import
	Layout string // the OCI layout's directory
	Binary string // the binary the image carries, as compiled; empty for an image of Extra files alone
}

// Make builds spec's image at version from the repository at root and
// writes it into out, as `make image` does: it compiles the image's package
// statically, builds the image and writes the OCI layout and the tarball.
func Make(ctx context.Context, root string, spec Spec, version, revision, out string) (Built, error) {
	ref, err := spec.Ref(version)
	if err != nil {
		return Built{}, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return Built{}, err
	}
	if spec.Package == "" && len(spec.Extra) == 0 {
		return Built{}, fmt.Errorf("image %s: neither a Package to build nor Extra files: it would be empty", spec.Name)
	}
	var bin string
	if spec.Package != "" {
		if bin, err = spec.compileStatic(ctx, root, out); err != nil {
			return Built{}, err
		}
	}
	img, err := spec.build(root, bin, ref, revision)
	if err != nil {
		return Built{}, err
	}
	tar, err := spec.write(img, ref, out)
	if err != nil {
		return Built{}, err
	}
	return Built{Ref: ref, Image: img, Tar: tar, Layout: filepath.Join(out, spec.Name), Binary: bin}, nil
}

// compileStatic builds the Spec's package from the repository at root into
// dir, statically (CGO off), and returns the binary's path.
func (s Spec) compileStatic(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, s.Name+".bin")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, s.Package)
	cmd.Dir, cmd.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", s.Package, err, out)
	}
	return bin, nil
}

// build makes the image from a static binary: one layer, no shell, no libc,
// and a second layer with the Spec's Extra files when it has any. Without
// a binary (a Spec with no Package) the image is its Extra files alone.
func (s Spec) build(root, binary string, ref name.Tag, revision string) (v1.Image, error) {
	version := ref.TagStr()
	var layers []v1.Layer
	if binary != "" {
		bin, err := os.ReadFile(binary)
		if err != nil {
			return nil, fmt.Errorf("read the binary: %w", err)
		}
		binLayer, err := layer([]file{{path: s.Entrypoint, data: bin, mode: 0o755}})
		if err != nil {
			return nil, fmt.Errorf("layer: %w", err)
		}
		layers = append(layers, binLayer)
	}
	if len(s.Extra) > 0 {
		files, err := extraFiles(root, s.Extra)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", s.Name, err)
		}
		extra, err := layer(files)
		if err != nil {
			return nil, fmt.Errorf("layer: %w", err)
		}
		layers = append(layers, extra)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layers...)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	labels := map[string]string{
		"org.opencontainers.image.title":       s.Name,
		"org.opencontainers.image.description": s.Description,
		"org.opencontainers.image.source":      "https://github.com/hubkit/hubkit",
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.licenses":    "Apache-2.0",
	}
	if revision != "" {
		labels["org.opencontainers.image.revision"] = revision
	}
	// Start from the config AppendLayers wrote: it holds rootfs.diff_ids,
	// without which containerd refuses the image ("mismatched image rootfs
	// and manifest layers").
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = "amd64", "linux"
	cfg.Created = v1.Time{Time: time.Unix(0, 0).UTC()} // reproducible
	cfg.Config = v1.Config{Entrypoint: []string{s.Entrypoint}, User: s.User, WorkingDir: "/", Labels: labels}
	if s.VersionEnv != "" {
		cfg.Config.Env = []string{s.VersionEnv + "=" + version}
	}
	cfg.Config.Env = append(cfg.Config.Env, s.Env...)
	return mutate.ConfigFile(img, cfg)
}

// write writes img as ref into out: an OCI layout in out/<name>/ and a
// tarball out/<name>.tar (for docker load and ctr images import). It
// returns the tarball's path.
func (s Spec) write(img v1.Image, ref name.Tag, out string) (string, error) {
	dir := filepath.Join(out, s.Name)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return "", fmt.Errorf("OCI layout: %w", err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref.String()})); err != nil {
		return "", fmt.Errorf("OCI layout: %w", err)
	}
	tarPath := filepath.Join(out, s.Name+".tar")
	if err := tarball.WriteToFile(tarPath, ref, img); err != nil {
		return "", fmt.Errorf("tarball: %w", err)
	}
	return tarPath, nil
}

// file is one entry of a layer: a file with its contents and mode, or a
// symbolic link. Every entry is owned by root.
type file struct {
	path string // absolute, in the image
	data []byte
	mode int64
	link string
}

// extraFiles reads the Spec's Extra files from the repository at root or
// the build host; an executable source stays executable.
func extraFiles(root string, extra []Extra) ([]file, error) {
	var files []file
	for _, e := range extra {
		if e.Link != "" {
			files = append(files, file{path: e.Path, link: e.Link, mode: 0o777})
			continue
		}
		src := e.Source
		if !filepath.IsAbs(src) {
			src = filepath.Join(root, src)
		}
		fi, err := os.Stat(src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Path, err)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Path, err)
		}
		mode := int64(0o644)
		if fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
		files = append(files, file{path: e.Path, data: b, mode: mode})
	}
	return files, nil
}

// tarOf is a layer holding files, each directory on their paths written
// once, before them; every time stamp is the epoch (reproducible).
func tarOf(files []file) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		dir := ""
		if parent := path.Dir(f.path[1:]); parent != "." {
			for _, seg := range strings.Split(parent, "/") {
				dir += seg + "/"
				if dirs[dir] {
					continue
				}
				dirs[dir] = true
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
					return nil, err
				}
			}
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: f.path[1:], Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}
		if f.link != "" {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, f.link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// layer is files as an OCI layer.
func layer(files []file) (v1.Layer, error) {
	b, err := tarOf(files)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, tarball.WithMediaType(types.OCILayer))
}
