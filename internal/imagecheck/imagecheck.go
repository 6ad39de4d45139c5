// Package imagecheck verifies an image before it runs, as a user of the
// function's image does: its signature with the publisher's public key,
// its SLSA provenance (signed with that key, its subject the image's
// digest) and its CycloneDX SBOM (signed likewise). The cryptography is
// cosign's own (the cosign CLI, offline: no transparency log, no
// certificate authority), which reads both formats verifiers meet today:
// cosign's older tag format (<digest>.sig, <digest>.att) and the Sigstore
// bundle as an OCI 1.1 referrer. A refusal names the check that failed
// and cosign's reason.
package imagecheck

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
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
	Digest name.Digest
	// Source is the provenance's source, git+<repository>@<commit>.
	Source string
	// Modules is the number of components the SBOM lists.
	Modules int
}

// Verify checks the image ref names (a tag is resolved to its digest
// first, and the digest is what is checked): a *Refusal when it does not
// verify, another error when it could not be checked.
func (c Checker) Verify(ctx context.Context, ref string) (Verified, error) {
	digest, err := c.resolve(ref)
	if err != nil {
		return Verified{}, err
	}
	v := Verified{Digest: digest}
	if _, err := c.cosign(ctx, CheckSignature, "verify", digest.String()); err != nil {
		return v, err
	}
	provenance, err := c.statement(ctx, CheckProvenance, "slsaprovenance1", attest.ProvenanceType, digest)
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
	sbom, err := c.statement(ctx, CheckSBOM, "cyclonedx", attest.SBOMType, digest)
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

// resolve names ref by its digest.
func (c Checker) resolve(ref string) (name.Digest, error) {
	r, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		return name.Digest{}, &Refusal{CheckDigest, fmt.Sprintf("%q is no image reference: %v", ref, err)}
	}
	if d, ok := r.(name.Digest); ok {
		return d, nil
	}
	desc, err := remote.Head(r, c.Remote...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("resolve %s to its digest: %w", ref, err)
	}
	return r.Context().Digest(desc.Digest.String()), nil
}

// statement verifies the attestations of predicate type kind (cosign's
// --type) on digest and returns the predicate of the one whose statement
// is of predicateType and whose subject is digest.
func (c Checker) statement(ctx context.Context, check, kind, predicateType string, digest name.Digest) (json.RawMessage, error) {
	out, err := c.cosign(ctx, check, "verify-attestation", "--type", kind, digest.String())
	if err != nil {
		return nil, err
	}
	var subjects []string
	lines := bufio.NewScanner(bytes.NewReader(out))
	lines.Buffer(nil, 64<<20)
	for lines.Scan() {
		st, err := decodeStatement(lines.Bytes())
		if err != nil || st.PredicateType != predicateType {
			continue
		}
		for _, s := range st.Subject {
			if "sha256:"+s.Digest["sha256"] == digest.DigestStr() {
				return st.Predicate, nil
			}
			subjects = append(subjects, "sha256:"+s.Digest["sha256"])
		}
	}
	if len(subjects) > 0 {
		return nil, &Refusal{check, fmt.Sprintf("its subject is %s, not the image's digest %s", strings.Join(slices.Compact(subjects), ", "), digest.DigestStr())}
	}
	return nil, &Refusal{check, fmt.Sprintf("cosign verified no %s statement about %s", predicateType, digest.DigestStr())}
}

// statement is an in-toto v1 statement, as much as the checks read.
type statement struct {
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate json.RawMessage `json:"predicate"`
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
