package attest

import (
	"fmt"
	"regexp"
	"runtime/debug"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// BuildType is what the provenance says the build was: internal/image's
// Make, a static Go build of one package into a one-layer image (the
// image's build type is documented at this address).
const BuildType = "https://github.com/hubkit/hubkit/blob/main/docs/supply-chain.md#the-build"

// BuilderID names who ran the build: `make image` on the publisher's
// machine, a builder no hosted service vouches for (SLSA Build L1).
const BuilderID = "https://github.com/hubkit/hubkit/blob/main/docs/supply-chain.md#the-builder"

// commit is a Git commit's full name.
var commit = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Build is what one image's provenance says of its build.
type Build struct {
	Image    string // the image's name (internal/image.Spec.Name)
	Package  string // the Go package compiled in, relative to the repository
	Version  string // the image's tag
	Revision string // the source's commit, 40 hex digits (git rev-parse HEAD)
	Modified bool   // the tree held changes not in that commit
}

// Provenance is the SLSA v1 provenance predicate of b: its external
// parameters (the image, its package and tag, the source at its commit),
// the Go build's settings from the binary (its Go version, compiler,
// flags, GOOS, GOARCH, CGO_ENABLED) as internal parameters, and the
// source's commit as its one resolved dependency. A build from a tree with
// changes not in the commit says so; one without a full commit is refused:
// it has no source to point to. It carries no times, so one build gives
// one predicate.
func Provenance(info *debug.BuildInfo, b Build) ([]byte, error) {
	if info == nil {
		return nil, fmt.Errorf("provenance: the binary carries no build information")
	}
	if !commit.MatchString(b.Revision) {
		return nil, fmt.Errorf("provenance: image %s: revision %q is not a commit: give the source's full commit (git rev-parse HEAD)", b.Image, b.Revision)
	}
	internal := map[string]any{"goVersion": info.GoVersion}
	for _, s := range info.Settings {
		internal[s.Key] = s.Value
	}
	external, err := structpb.NewStruct(map[string]any{
		"source":  Source + "@" + b.Revision,
		"image":   b.Image,
		"package": b.Package,
		"version": b.Version,
	})
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	internalParams, err := structpb.NewStruct(internal)
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	source := &ita.ResourceDescriptor{Uri: Source, Digest: map[string]string{"gitCommit": b.Revision}}
	if b.Modified {
		source.Annotations, err = structpb.NewStruct(map[string]any{"modified": "the tree held changes not in this commit"})
		if err != nil {
			return nil, fmt.Errorf("provenance: %w", err)
		}
	}
	p := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{
			BuildType:            BuildType,
			ExternalParameters:   external,
			InternalParameters:   internalParams,
			ResolvedDependencies: []*ita.ResourceDescriptor{source},
		},
		RunDetails: &slsa.RunDetails{Builder: &slsa.Builder{Id: BuilderID}},
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	raw, err := protojson.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	return indent(raw)
}
