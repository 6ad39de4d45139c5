// Package imagecheck verifies an image before it runs, as a user of the
// function's image does: its signature with the publisher's public key,
// its SLSA provenance (signed with that key, its subject the image's
// digest) and its CycloneDX SBOM (signed likewise). The cryptography is
// cosign's own (the cosign CLI, offline: no transparency log, no
// certificate authority), which reads both formats verifiers meet today:
// cosign's older tag format (<digest>.sig, <digest>.att) and the Sigstore
// bundle as an OCI 1.1 referrer; from a registry, or from an OCI layout
// `cosign save` wrote. A refusal names the check that failed and cosign's
// reason.
package imagecheck

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hubkit/hubkit/internal/attest"
)

// The checks, as a refusal names them.
const (
	CheckDigest     = "digest"
	CheckSignature  = "signature"
	CheckProvenance = "provenance"
	CheckSBOM       = "sbom"
)

// Refusal is an image that did not verify: which check, and why.
type Refusal struct {
	Check  string
	Reason string
}

func (r *Refusal) Error() string { return r.Check + ": " + r.Reason }

// Checker verifies images with the cosign CLI at Cosign against the public
// key at Key.
type Checker struct {
	Cosign string
	Key    string
	// Env is cosign's environment (nil: this process's).
	Env []string
	// Remote are the registry options (a transport, credentials) used to
	// resolve a tag to its digest.
	Remote []remote.Option
}

// Verified is what an image that passed was checked for.
type Verified struct {
	// Ref is what was checked: the image by its digest, or the layout.
	Ref string
	// Digest is the image's.
	Digest v1.Hash
	// Source is the provenance's source, git+<repository>@<commit>.
	Source string
	// Modules is the number of components the SBOM lists.
	Modules int
}

// target is an image as cosign is pointed at it: a reference by digest,
// or an OCI layout `cosign save` wrote (--local-image).
type target struct {
	args   []string // cosign's last arguments
	ref    string
	digest v1.Hash
}

// Verify checks the image ref names, an image reference (a tag is
// resolved to its digest first, and the digest is what is checked) or an
// OCI layout's directory as `cosign save` writes it, the image with its
// signatures and attestations: a *Refusal when it does not verify,
// another error when it could not be checked.
func (c Checker) Verify(ctx context.Context, ref string) (Verified, error) {
	t, err := c.resolve(ref)
	if err != nil {
		return Verified{}, err
	}
	v := Verified{Ref: t.ref, Digest: t.digest}
	if _, err := c.cosign(ctx, CheckSignature, "verify", t.args...); err != nil {
		return v, err
	}
	provenance, err := c.statement(ctx, CheckProvenance, "slsaprovenance1", attest.ProvenanceType, t)
	if err != nil {
		return v, err
	}
	var p struct {
		BuildDefinition struct {
			ExternalParameters struct {
				Source string `json:"source"`
			} `json:"externalParameters"`
		} `json:"buildDefinition"`
	}
	if err := json.Unmarshal(provenance, &p); err != nil || p.BuildDefinition.ExternalParameters.Source == "" {
		return v, &Refusal{CheckProvenance, "it names no source (buildDefinition.externalParameters.source)"}
	}
	v.Source = p.BuildDefinition.ExternalParameters.Source
	sbom, err := c.statement(ctx, CheckSBOM, "cyclonedx", attest.SBOMType, t)
	if err != nil {
		return v, err
	}
	var bom struct {
		BOMFormat  string            `json:"bomFormat"`
		Components []json.RawMessage `json:"components"`
	}
	if err := json.Unmarshal(sbom, &bom); err != nil || bom.BOMFormat != "CycloneDX" || len(bom.Components) == 0 {
		return v, &Refusal{CheckSBOM, "it is no CycloneDX BOM with components"}
	}
	v.Modules = len(bom.Components)
	return v, nil
}

// cosignImage is the annotation cosign save gives the image in a layout.
const cosignImage = "dev.cosignproject.cosign/image"

// resolve says how cosign is pointed at ref.
func (c Checker) resolve(ref string) (target, error) {
	if fi, err := os.Stat(ref); err == nil && fi.IsDir() {
		index, err := layout.ImageIndexFromPath(ref)
		if err != nil {
			return target{}, &Refusal{CheckDigest, fmt.Sprintf("%s is no OCI layout: %v", ref, err)}
		}
		m, err := index.IndexManifest()
		if err != nil {
			return target{}, &Refusal{CheckDigest, fmt.Sprintf("%s is no OCI layout: %v", ref, err)}
		}
		images := slices.DeleteFunc(slices.Clone(m.Manifests), func(d v1.Descriptor) bool { return d.Annotations["kind"] != cosignImage })
		if len(images) == 0 && len(m.Manifests) == 1 {
			return target{}, &Refusal{CheckSignature, fmt.Sprintf("%s holds an image and no signatures (as make image writes it): verify the signed image in its registry, or the layout `cosign save --dir` writes of it", ref)}
		}
		if len(images) != 1 {
			return target{}, &Refusal{CheckDigest, fmt.Sprintf("%s holds %d images: want the one `cosign save --dir` writes with its signatures", ref, len(images))}
		}
		return target{args: []string{"--local-image", ref}, ref: ref, digest: images[0].Digest}, nil
	}
	r, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		return target{}, &Refusal{CheckDigest, fmt.Sprintf("%q is no image reference nor a directory: %v", ref, err)}
	}
	d, ok := r.(name.Digest)
	if !ok {
		desc, err := remote.Head(r, c.Remote...)
		if err != nil {
			return target{}, fmt.Errorf("resolve %s to its digest: %w", ref, err)
		}
		d = r.Context().Digest(desc.Digest.String())
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return target{}, &Refusal{CheckDigest, fmt.Sprintf("%s: %v", ref, err)}
	}
	return target{args: []string{d.String()}, ref: d.String(), digest: h}, nil
}

// statement verifies the attestations of predicate type kind (cosign's
// --type) on t and returns the predicate of one of predicateType. cosign
// checks, before it prints any, that each is signed with the key and that
// its subject is t's digest (--check-claims).
func (c Checker) statement(ctx context.Context, check, kind, predicateType string, t target) (json.RawMessage, error) {
	out, err := c.cosign(ctx, check, "verify-attestation", append([]string{"--type", kind}, t.args...)...)
	if err != nil {
		return nil, err
	}
	lines := bufio.NewScanner(bytes.NewReader(out))
	lines.Buffer(nil, 64<<20)
	for lines.Scan() {
		if st, err := decodeStatement(lines.Bytes()); err == nil && st.PredicateType == predicateType {
			return st.Predicate, nil
		}
	}
	return nil, &Refusal{check, fmt.Sprintf("cosign printed no %s statement about %s", predicateType, t.digest)}
}

// statement is an in-toto v1 statement, as much as the checks read.
type statement struct {
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// decodeStatement reads one line cosign verify-attestation prints: a DSSE
// envelope whose payload is the statement.
func decodeStatement(line []byte) (statement, error) {
	var envelope struct {
		Payload string `json:"payload"`
	}
	var st statement
	if err := json.Unmarshal(line, &envelope); err != nil {
		return st, err
	}
	payload, err := base64.StdEncoding.DecodeString(envelope.Payload)
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(payload, &st)
}

// cosign runs `cosign <command> --key <key> --insecure-ignore-tlog=true
// args...` offline and returns its standard output; a failure is check's
// refusal with cosign's last words.
func (c Checker) cosign(ctx context.Context, check, command string, args ...string) ([]byte, error) {
	all := append([]string{command, "--key", c.Key, "--insecure-ignore-tlog=true"}, args...)
	cmd := exec.CommandContext(ctx, c.Cosign, all...)
	cmd.Env = c.Env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			return nil, fmt.Errorf("run %s: %w", c.Cosign, err)
		}
		return nil, &Refusal{check, lastWords(stderr.String())}
	}
	return stdout.Bytes(), nil
}

// lastWords is cosign's reason: the last line it wrote that says one.
func lastWords(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(strings.TrimPrefix(lines[i], "Error: "))
		if l = strings.TrimPrefix(l, "error during command execution: "); l != "" && !strings.HasPrefix(l, "main.go:") {
			return l
		}
	}
	return "cosign refused it and said nothing"
}
