// Package attest makes what hubkit publishes beside an image it builds
// (internal/image): an SLSA v1 provenance of the build and a CycloneDX SBOM
// of exactly the modules compiled into the image's binary. Each is a
// predicate, the file `cosign attest --predicate` takes (--type
// slsaprovenance1, --type cyclonedx); cosign wraps it in the in-toto
// statement whose subject is the image's digest. Both are read from the
// binary's own build information (runtime/debug.BuildInfo, what `go
// version -m` prints), so they say what was compiled in, not what go.mod
// allows, and two builds of one commit give the same bytes.
package attest

import (
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// The predicate types, as cosign's --type names them and as in-toto
// statements carry them.
const (
	ProvenanceType = "https://slsa.dev/provenance/v1" // cosign attest --type slsaprovenance1
	SBOMType       = "https://cyclonedx.org/bom"      // cosign attest --type cyclonedx
)

// Source is the repository hubkit's images are built from, as SLSA names a
// Git source.
const Source = "git+https://github.com/hubkit/hubkit"

// indent writes JSON as the predicates are committed to files: two spaces,
// keys in the order given, a final newline. protojson's spacing varies on
// purpose from run to run; this does not.
func indent(raw []byte) ([]byte, error) {
	var out bytes.Buffer
	if err := json.Indent(&out, bytes.TrimSpace(raw), "", "  "); err != nil {
		return nil, fmt.Errorf("indent: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// Predicates are the two files published beside an image.
type Predicates struct {
	Provenance []byte // SLSA v1 provenance: cosign attest --type slsaprovenance1
	SBOM       []byte // CycloneDX 1.6: cosign attest --type cyclonedx
}

// Files are where Write puts an image's predicates, under dir:
// <name>.provenance.json and <name>.cdx.json.
func Files(dir, name string) (provenance, sbom string) {
	return filepath.Join(dir, name+".provenance.json"), filepath.Join(dir, name+".cdx.json")
}

// Write puts the predicates of image name into dir (Files) and returns
// their paths.
func (p Predicates) Write(dir, name string) (provenance, sbom string, err error) {
	provenance, sbom = Files(dir, name)
	for file, body := range map[string][]byte{provenance: p.Provenance, sbom: p.SBOM} {
		if err := os.WriteFile(file, body, 0o644); err != nil {
			return "", "", fmt.Errorf("image %s: %w", name, err)
		}
	}
	return provenance, sbom, nil
}

// ForBinary reads the build information of the binary at path (the one
// the image carries) and makes its image's predicates.
func ForBinary(path string, b Build, imageDigest string) (Predicates, error) {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return Predicates{}, fmt.Errorf("image %s: read the build information of %s: %w", b.Image, path, err)
	}
	var p Predicates
	if p.Provenance, err = Provenance(info, b); err != nil {
		return Predicates{}, err
	}
	if p.SBOM, err = SBOM(info, b, imageDigest); err != nil {
		return Predicates{}, fmt.Errorf("image %s: %w", b.Image, err)
	}
	return p, nil
}
