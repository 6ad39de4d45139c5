package imagecheck_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/internal/attest"
	"github.com/hubkit/hubkit/internal/image"
	"github.com/hubkit/hubkit/internal/imagecheck"
	"github.com/hubkit/hubkit/internal/imagesign"
	"github.com/hubkit/hubkit/test/testenv"
)

const commit = "0123456789abcdef0123456789abcdef01234567"

// world is a registry on loopback (go-containerregistry's, with or
// without the OCI 1.1 Referrers API), the function's image pushed to it
// with its predicates beside it, and the publisher's key pair and another.
type world struct {
	t          *testing.T
	cosign     string
	env        []string
	dir        string
	repo       name.Repository
	image      v1.Image
	digest     name.Digest
	provenance string // the predicate files
	sbom       string
	key, other string // key pairs' prefixes: <prefix>.key, <prefix>.pub
}

func newWorld(t *testing.T, referrers bool) *world {
	t.Helper()
	cosign := testenv.Cosign(t)
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(referrers), registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	w := &world{t: t, cosign: cosign, dir: dir,
		// Offline: cosign's home is the test's, and any request beyond
		// loopback goes to a proxy that is not there.
		env: imagesign.Offline(append(os.Environ(), "HOME="+dir, "COSIGN_PASSWORD=")),
	}
	var err error
	w.repo, err = name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/hubkit/singleton")
	require.NoError(t, err)
	made, err := attest.Make(context.Background(), testenv.RepoRoot(t), image.Function(), "v0.0.0-test", commit, false, filepath.Join(dir, "image"))
	require.NoError(t, err)
	w.image, w.provenance, w.sbom = made.Image, made.Provenance, made.SBOM
	w.digest = w.push("v0.0.0-test", made.Image)
	w.key, w.other = w.keyPair("publisher"), w.keyPair("other")
	return w
}

func (w *world) push(tag string, img v1.Image) name.Digest {
	w.t.Helper()
	ref := w.repo.Tag(tag)
	require.NoError(w.t, remote.Write(ref, img))
	d, err := img.Digest()
	require.NoError(w.t, err)
	return w.repo.Digest(d.String())
}

func (w *world) keyPair(prefix string) string {
	w.t.Helper()
	require.NoError(w.t, w.signer(prefix).Run(context.Background(), "generate-key-pair", "--output-key-prefix", prefix))
	return filepath.Join(w.dir, prefix)
}

// signer signs with the key pair of prefix key.
func (w *world) signer(key string) imagesign.Signer {
	return imagesign.Signer{Cosign: w.cosign, Key: key + ".key", Dir: w.dir, Env: w.env}
}

// publish signs digest with key and attaches what predicates names
// (provenance, sbom) as signed attestations, in format.
func (w *world) publish(format imagesign.Format, key string, digest name.Digest, predicates ...string) {
	w.t.Helper()
	s := w.signer(key)
	require.NoError(w.t, s.Sign(context.Background(), format, digest))
	for _, p := range predicates {
		w.attest(format, key, digest, map[string]string{"provenance": imagesign.Provenance, "sbom": imagesign.SBOM}[p], map[string]string{"provenance": w.provenance, "sbom": w.sbom}[p])
	}
	w.wrote(format, digest, 1+len(predicates))
}

// attest attaches the predicate in file as a signed attestation of type
// kind (cosign's --type).
func (w *world) attest(format imagesign.Format, key string, digest name.Digest, kind, file string) {
	w.t.Helper()
	require.NoError(w.t, w.signer(key).Attest(context.Background(), format, digest, kind, file))
}

// wrote wants what cosign wrote for digest to be in format alone: n
// Sigstore bundles as referrers (found through the Referrers API, or the
// referrers tag without it) and no .sig or .att tag; or the tags and no
// referrer.
func (w *world) wrote(format imagesign.Format, digest name.Digest, n int) {
	w.t.Helper()
	tags, err := remote.List(w.repo)
	require.NoError(w.t, err)
	prefix := strings.Replace(digest.DigestStr(), ":", "-", 1)
	index, err := remote.Referrers(digest)
	require.NoError(w.t, err)
	manifest, err := index.IndexManifest()
	require.NoError(w.t, err)
	switch format {
	case imagesign.Tags:
		assert.Contains(w.t, tags, prefix+".sig")
		assert.Equal(w.t, n > 1, slices.Contains(tags, prefix+".att"))
		assert.Empty(w.t, manifest.Manifests, "no referrer")
	case imagesign.Bundle:
		assert.NotContains(w.t, tags, prefix+".sig")
		assert.NotContains(w.t, tags, prefix+".att")
		require.Len(w.t, manifest.Manifests, n)
		for _, m := range manifest.Manifests {
			// The manifest's own artifactType: go-containerregistry's
			// registry lists the config's media type in the index.
			img, err := remote.Image(w.repo.Digest(m.Digest.String()))
			require.NoError(w.t, err)
			raw, err := img.Manifest()
			require.NoError(w.t, err)
			require.Len(w.t, raw.Layers, 1)
			assert.Equal(w.t, "application/vnd.dev.sigstore.bundle.v0.3+json", string(raw.Layers[0].MediaType))
			require.NotNil(w.t, raw.Subject)
			assert.Equal(w.t, digest.DigestStr(), raw.Subject.Digest.String())
		}
	}
}

func (w *world) verify(key string, ref string) (imagecheck.Verified, error) {
	w.t.Helper()
	return imagecheck.Checker{Cosign: w.cosign, Key: key + ".pub", Env: w.env}.Verify(context.Background(), ref)
}

// refused wants err to be a refusal of check whose reason says want.
func refused(t *testing.T, err error, check, want string) {
	t.Helper()
	var r *imagecheck.Refusal
	require.ErrorAs(t, err, &r, "want a refusal, got %v", err)
	assert.Equal(t, check, r.Check, r.Error())
	assert.Contains(t, r.Reason, want)
}

// TestASignedImageVerifiesOffline: the function's image signed with the
// publisher's key, its provenance and SBOM attached as signed
// attestations, verifies by its tag and by its digest, in both formats,
// on a registry with and without the Referrers API.
func TestASignedImageVerifiesOffline(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		for _, format := range imagesign.Formats() {
			t.Run(map[bool]string{true: "referrers API", false: "no referrers API"}[referrers]+"/"+string(format), func(t *testing.T) {
				w := newWorld(t, referrers)
				w.publish(format, w.key, w.digest, "provenance", "sbom")
				for _, ref := range []string{w.repo.Tag("v0.0.0-test").String(), w.digest.String()} {
					v, err := w.verify(w.key, ref)
					require.NoError(t, err, ref)
					assert.Equal(t, w.digest.String(), v.Ref)
					assert.Equal(t, w.digest.DigestStr(), v.Digest.String())
					assert.Equal(t, attest.Source+"@"+commit, v.Source)
					assert.Greater(t, v.Modules, 10)
				}
			})
		}
	}
}

// anotherKey is cosign's reason, by format, for a signature made with
// another key than the one checked.
var anotherKey = map[imagesign.Format]string{
	imagesign.Tags:   "no matching signatures: invalid signature",
	imagesign.Bundle: "failed to verify signature",
}

// TestTamperedTwinsAreRefused: each way an image can be not what was
// published is refused, naming the check and cosign's reason.
func TestTamperedTwinsAreRefused(t *testing.T) {
	for format, anotherKey := range anotherKey {
		t.Run(string(format), func(t *testing.T) {
			w := newWorld(t, true)
			w.publish(format, w.key, w.digest, "provenance", "sbom")

			_, err := w.verify(w.other, w.digest.String())
			refused(t, err, imagecheck.CheckSignature, anotherKey)

			w.push("v0.0.0-test", changedLayer(t, w.image)) // the tag now names a changed image
			_, err = w.verify(w.key, w.repo.Tag("v0.0.0-test").String())
			refused(t, err, imagecheck.CheckSignature, "no signatures found")

			unsbom := w.push("no-sbom", mustAppend(t, w.image, "no sbom"))
			w.publish(format, w.key, unsbom, "provenance")
			_, err = w.verify(w.key, unsbom.String())
			refused(t, err, imagecheck.CheckSBOM, "none of the attestations matched the predicate type: cyclonedx")

			notABOM := w.push("not-a-bom", mustAppend(t, w.image, "not a bom"))
			w.publish(format, w.key, notABOM, "provenance")
			w.attest(format, w.key, notABOM, "cyclonedx", w.provenance) // a provenance, called an SBOM
			_, err = w.verify(w.key, notABOM.String())
			refused(t, err, imagecheck.CheckSBOM, "no CycloneDX BOM")
		})
	}
}

// TestProvenanceForAnotherDigestIsRefused: a signed provenance copied from
// another image (its subject that image's digest) does not vouch for this
// one.
func TestProvenanceForAnotherDigestIsRefused(t *testing.T) {
	w := newWorld(t, true)
	other := w.push("other", mustAppend(t, w.image, "another image"))
	w.publish(imagesign.Tags, w.key, other, "provenance", "sbom")
	w.publish(imagesign.Tags, w.key, w.digest) // signed, no attestations of its own
	att := func(d name.Digest) name.Tag {
		return w.repo.Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".att")
	}
	copied, err := remote.Image(att(other))
	require.NoError(t, err)
	require.NoError(t, remote.Write(att(w.digest), copied))
	_, err = w.verify(w.key, w.digest.String())
	refused(t, err, imagecheck.CheckProvenance, "no matching subject digest")
}

// mustAppend is img with one more layer holding note: another image.
func mustAppend(t *testing.T, img v1.Image, note string) v1.Image {
	t.Helper()
	l, err := random.Layer(int64(len(note))+64, "application/vnd.oci.image.layer.v1.tar")
	require.NoError(t, err)
	out, err := mutate.AppendLayers(img, l)
	require.NoError(t, err)
	return out
}

// changedLayer is img with one byte of its binary's layer changed.
func changedLayer(t *testing.T, img v1.Image) v1.Image {
	t.Helper()
	layers, err := img.Layers()
	require.NoError(t, err)
	require.NotEmpty(t, layers)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	data[len(data)/2] ^= 0xff
	changed, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	require.NoError(t, err)
	twin, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), append([]v1.Layer{changed}, layers[1:]...)...)
	require.NoError(t, err)
	cfg, err := img.ConfigFile()
	require.NoError(t, err)
	twin, err = mutate.Config(twin, cfg.Config)
	require.NoError(t, err)
	return twin
}

// TestASavedLayoutVerifiesOffline: the image with its signatures and
// attestations saved to an OCI layout (cosign save) verifies from the
// directory, in both formats, and not with another key; the layout make
// image writes, unsigned, is refused.
func TestASavedLayoutVerifiesOffline(t *testing.T) {
	for format, anotherKey := range anotherKey {
		t.Run(string(format), func(t *testing.T) {
			w := newWorld(t, true)
			w.publish(format, w.key, w.digest, "provenance", "sbom")
			dir := filepath.Join(w.dir, "saved")
			require.NoError(t, w.signer(w.key).Run(context.Background(), "save", "--dir", dir, w.digest.String()))
			v, err := w.verify(w.key, dir)
			require.NoError(t, err)
			assert.Equal(t, dir, v.Ref)
			assert.Equal(t, w.digest.DigestStr(), v.Digest.String())
			assert.Equal(t, attest.Source+"@"+commit, v.Source)
			_, err = w.verify(w.other, dir)
			refused(t, err, imagecheck.CheckSignature, anotherKey)
		})
	}
	w := newWorld(t, true)
	_, err := w.verify(w.key, filepath.Join(w.dir, "image", "singleton"))
	refused(t, err, imagecheck.CheckSignature, "holds an image and no signatures")
}
