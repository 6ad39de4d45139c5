// Package imagesign signs an image and attaches its provenance and SBOM
// (internal/attest) as signed attestations, with the cosign CLI and a key,
// offline: no signing config fetched, nothing sent to a transparency log,
// no certificate authority. It writes either format verifiers read:
// cosign's older tags (<digest>.sig, <digest>.att) or Sigstore bundles as
// OCI 1.1 referrers.
package imagesign

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Format is how the signature and attestations are stored.
type Format string

// The formats.
const (
	Tags   Format = "tags"   // cosign's older format: <digest>.sig and <digest>.att tags
	Bundle Format = "bundle" // Sigstore bundles as OCI 1.1 referrers
)

// Formats are both, in the order a release writes them.
func Formats() []Format { return []Format{Tags, Bundle} }

// flags are cosign's offline flags for format.
func (f Format) flags() []string {
	return []string{"--new-bundle-format=" + fmt.Sprint(f == Bundle), "--use-signing-config=false", "--tlog-upload=false", "--yes"}
}

// The attestations' types, as cosign's --type names them.
const (
	Provenance = "slsaprovenance1"
	SBOM       = "cyclonedx"
)

// Signer runs the cosign CLI at Cosign with the private key at Key (its
// password in the environment's COSIGN_PASSWORD).
type Signer struct {
	Cosign string
	Key    string
	Dir    string   // cosign's working directory
	Env    []string // cosign's environment (nil: this process's)
}

// Sign signs digest in format.
func (s Signer) Sign(ctx context.Context, f Format, digest name.Digest) error {
	return s.run(ctx, append(append([]string{"sign", "--key", s.Key}, f.flags()...), digest.String())...)
}

// Attest attaches the predicate in file, of type kind (Provenance, SBOM),
// to digest as an attestation signed in format.
func (s Signer) Attest(ctx context.Context, f Format, digest name.Digest, kind, file string) error {
	return s.run(ctx, append(append([]string{"attest", "--key", s.Key, "--type", kind, "--predicate", file}, f.flags()...), digest.String())...)
}

// Publish signs digest and attaches its provenance and SBOM, in format.
func (s Signer) Publish(ctx context.Context, f Format, digest name.Digest, provenance, sbom string) error {
	if err := s.Sign(ctx, f, digest); err != nil {
		return err
	}
	if err := s.Attest(ctx, f, digest, Provenance, provenance); err != nil {
		return err
	}
	return s.Attest(ctx, f, digest, SBOM, sbom)
}

// Run runs cosign with args (save, load, generate-key-pair).
func (s Signer) Run(ctx context.Context, args ...string) error { return s.run(ctx, args...) }

func (s Signer) run(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, s.Cosign, args...)
	cmd.Dir, cmd.Env = s.Dir, s.Env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cosign %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
