package attest

import (
	"bytes"
	"fmt"
	"runtime/debug"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/uuid"
)

// SBOM is the CycloneDX BOM of a Go binary from its build information:
// the main module as the BOM's subject, and a component for each module
// compiled in (a replaced module as what replaced it) and for the standard
// library of its Go version. A module is named by its package URL, which
// with Go's checksum database pins its content; the main module, which Go
// leaves unversioned when it does not stamp the commit, is versioned by
// b's commit. The BOM carries no time and its serial number is derived
// from the image's digest, so one build gives one BOM.
func SBOM(info *debug.BuildInfo, b Build, imageDigest string) ([]byte, error) {
	if info == nil || info.Main.Path == "" {
		return nil, fmt.Errorf("sbom: the binary carries no module information (build it with module mode on)")
	}
	version := info.Main.Version
	if version == "" || version == "(devel)" {
		version = b.Revision
	}
	main := component(cdx.ComponentTypeApplication, info.Main.Path, version)
	std := component(cdx.ComponentTypeLibrary, "std", info.GoVersion)
	components := []cdx.Component{std}
	for _, dep := range info.Deps {
		m := dep
		if dep.Replace != nil {
			m = dep.Replace
		}
		components = append(components, component(cdx.ComponentTypeLibrary, m.Path, m.Version))
	}
	var refs []string
	for _, c := range components {
		refs = append(refs, c.BOMRef)
	}
	bom := cdx.NewBOM()
	bom.SerialNumber = "urn:uuid:" + uuid.NewSHA1(uuid.NameSpaceURL, []byte(Source+"@"+imageDigest)).String()
	bom.Metadata = &cdx.Metadata{Component: &main}
	bom.Components = &components
	bom.Dependencies = &[]cdx.Dependency{{Ref: main.BOMRef, Dependencies: &refs}}
	var out bytes.Buffer
	enc := cdx.NewBOMEncoder(&out, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	return indent(out.Bytes())
}

// component is a Go module as a CycloneDX component, its package URL its
// reference.
func component(kind cdx.ComponentType, path, version string) cdx.Component {
	purl := "pkg:golang/" + path + "@" + version
	return cdx.Component{Type: kind, BOMRef: purl, Name: path, Version: version, PackageURL: purl}
}
