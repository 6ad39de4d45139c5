package attest_test

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hubkit/hubkit/internal/attest"
	"github.com/hubkit/hubkit/internal/image"
	"github.com/hubkit/hubkit/test/testenv"
)

const commit = "0123456789abcdef0123456789abcdef01234567"

// functionBinary builds the function's image as make image does and
// returns the binary it carries and the image's digest.
func functionBinary(t *testing.T) (string, string) {
	t.Helper()
	built, err := image.Make(context.Background(), testenv.RepoRoot(t), image.Function(), "v0.0.0-test", commit, t.TempDir())
	require.NoError(t, err)
	require.NotEmpty(t, built.Binary)
	digest, err := built.Image.Digest()
	require.NoError(t, err)
	return built.Binary, digest.String()
}

// goVersionM is what `go version -m` says the binary was built from: each
// module compiled in as path@version (a replaced module as what replaced
// it), and the standard library as std@<go version>.
func goVersionM(t *testing.T, bin string) []string {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	require.NoError(t, err, string(out))
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	_, goVersion, ok := strings.Cut(lines[0], ": ")
	require.True(t, ok, lines[0])
	modules := []string{"std@" + goVersion}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "dep":
			modules = append(modules, f[1]+"@"+f[2])
		case len(f) >= 3 && f[0] == "=>":
			modules[len(modules)-1] = f[1] + "@" + f[2]
		}
	}
	require.Greater(t, len(modules), 10, "the function compiles in kyaml and its dependencies")
	return modules
}

// TestTheSBOMListsExactlyTheModulesCompiledIn: the function image's SBOM
// lists what `go version -m` says its binary was built from, no more and
// no less, each with its package URL, under the main module at the
// build's commit.
func TestTheSBOMListsExactlyTheModulesCompiledIn(t *testing.T) {
	bin, digest := functionBinary(t)
	p, err := attest.ForBinary(bin, attest.Build{Image: "singleton", Package: "./plugin", Version: "v0.0.0-test", Revision: commit}, digest)
	require.NoError(t, err)
	var bom cdx.BOM
	require.NoError(t, cdx.NewBOMDecoder(bytes.NewReader(p.SBOM), cdx.BOMFileFormatJSON).Decode(&bom))
	assert.Equal(t, cdx.SpecVersion1_6, bom.SpecVersion)
	require.NotNil(t, bom.Metadata)
	require.NotNil(t, bom.Metadata.Component)
	assert.Equal(t, "github.com/hubkit/hubkit", bom.Metadata.Component.Name)
	assert.Equal(t, "pkg:golang/github.com/hubkit/hubkit@"+commit, bom.Metadata.Component.PackageURL)
	require.NotNil(t, bom.Components)
	var listed []string
	for _, c := range *bom.Components {
		listed = append(listed, c.Name+"@"+c.Version)
		assert.Equal(t, "pkg:golang/"+c.Name+"@"+c.Version, c.PackageURL)
	}
	assert.ElementsMatch(t, goVersionM(t, bin), listed)
}

// TestThePredicatesAreReproducible: the predicates are JSON in one
// canonical layout (protojson varies its spacing from build to build on
// purpose, so bytes it wrote would differ between two builds of the
// tools); one binary and one digest give the same bytes; another image's
// digest, another BOM serial.
func TestThePredicatesAreReproducible(t *testing.T) {
	bin, digest := functionBinary(t)
	b := attest.Build{Image: "singleton", Package: "./plugin", Version: "v0.0.0-test", Revision: commit}
	first, err := attest.ForBinary(bin, b, digest)
	require.NoError(t, err)
	for name, body := range map[string][]byte{"provenance": first.Provenance, "sbom": first.SBOM} {
		var compact, canonical bytes.Buffer
		require.NoError(t, json.Compact(&compact, body), name)
		require.NoError(t, json.Indent(&canonical, compact.Bytes(), "", "  "), name)
		assert.Equal(t, canonical.String()+"\n", string(body), "%s: two-space indent, one space after a colon, a final newline", name)
	}
	again, err := attest.ForBinary(bin, b, digest)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	other, err := attest.ForBinary(bin, b, "sha256:"+strings.Repeat("0", 64))
	require.NoError(t, err)
	assert.NotEqual(t, string(first.SBOM), string(other.SBOM), "the serial number is the image's")
}

// TestTheProvenanceSaysHowTheImageWasBuilt: a valid SLSA v1 provenance (as
// in-toto's own types check it) whose source is the commit built, whose
// internal parameters are the Go build's settings, and which says so when
// the tree held changes; a build without a commit gets none.
func TestTheProvenanceSaysHowTheImageWasBuilt(t *testing.T) {
	bin, _ := functionBinary(t)
	info, err := buildinfo.ReadFile(bin)
	require.NoError(t, err)
	for _, tc := range []struct {
		name     string
		modified bool
	}{{"from a clean tree", false}, {"from a tree with changes", true}} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := attest.Provenance(info, attest.Build{Image: "singleton", Package: "./plugin", Version: "v1.2.3", Revision: commit, Modified: tc.modified})
			require.NoError(t, err)
			var p slsa.Provenance
			require.NoError(t, protojson.Unmarshal(raw, &p))
			require.NoError(t, p.Validate())
			def := p.GetBuildDefinition()
			assert.Equal(t, attest.BuildType, def.GetBuildType())
			assert.Equal(t, map[string]any{
				"image": "singleton", "package": "./plugin", "version": "v1.2.3",
				"source": "git+https://github.com/hubkit/hubkit@" + commit,
			}, def.GetExternalParameters().AsMap())
			internal := def.GetInternalParameters().AsMap()
			for k, v := range map[string]any{"GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "0", "-trimpath": "true", "goVersion": info.GoVersion} {
				assert.Equal(t, v, internal[k], k)
			}
			require.Len(t, def.GetResolvedDependencies(), 1)
			source := def.GetResolvedDependencies()[0]
			assert.Equal(t, attest.Source, source.GetUri())
			assert.Equal(t, map[string]string{"gitCommit": commit}, source.GetDigest())
			assert.Equal(t, tc.modified, source.GetAnnotations() != nil, "the annotation says the tree held changes")
			assert.Equal(t, attest.BuilderID, p.GetRunDetails().GetBuilder().GetId())
			assert.Nil(t, p.GetRunDetails().GetMetadata(), "no times: one build, one predicate")
		})
	}
	for _, revision := range []string{"", "cb90866", strings.Repeat("G", 40)} {
		_, err := attest.Provenance(info, attest.Build{Image: "singleton", Revision: revision})
		require.Error(t, err, "revision %q", revision)
		assert.ErrorContains(t, err, "image singleton")
		assert.ErrorContains(t, err, "git rev-parse HEAD")
	}
}

// TestTheFunctionGainsNoDependency: the function's binary compiles in
// neither the SBOM's nor the provenance's libraries; they are the
// publisher's tools alone.
func TestTheFunctionGainsNoDependency(t *testing.T) {
	bin, _ := functionBinary(t)
	for _, m := range goVersionM(t, bin) {
		assert.NotContains(t, m, "cyclonedx", "the function compiles in %s", m)
		assert.NotContains(t, m, "in-toto", "the function compiles in %s", m)
	}
}

// TestTheBuildTypeAndBuilderAreDocumented: the URIs the provenance names
// its build type and builder by reach headings of docs/supply-chain.md.
func TestTheBuildTypeAndBuilderAreDocumented(t *testing.T) {
	page, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "docs", "supply-chain.md"))
	require.NoError(t, err)
	for _, uri := range []string{attest.BuildType, attest.BuilderID} {
		file, fragment, ok := strings.Cut(uri, "#")
		require.True(t, ok, uri)
		assert.True(t, strings.HasSuffix(file, "/blob/main/docs/supply-chain.md"), uri)
		heading := "### " + strings.ToUpper(fragment[:1]) + strings.ReplaceAll(fragment[1:], "-", " ") + "\n"
		assert.Contains(t, string(page), heading, "%s: no such heading", uri)
	}
}
