// Package render builds a kustomization the two ways hubkit's users do: with the
// kustomize library (krusty, as Argo CD and Flux embed it) and with the kustomize
// CLI. Tests build every overlay both ways and hold the results to one contract.
package render

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Krusty builds dir with the kustomize library and returns the multi-document
// YAML that `kustomize build dir` prints.
func Krusty(dir string) ([]byte, error) {
	opts := krusty.MakeDefaultOptions()
	// The library's default keeps input order; the CLI sorts (legacy order)
	// unless the kustomization says otherwise. Build what the CLI prints.
	opts.Reorder = krusty.ReorderOptionUnspecified
	k := krusty.MakeKustomizer(opts)
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s (library): %w", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s (library): encode: %w", dir, err)
	}
	return out, nil
}

// CLI runs `kustomize build dir [args...]` with the given binary. Its stderr is
// part of the error so that a failing build says why.
func CLI(ctx context.Context, kustomize, dir string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, kustomize, append([]string{"build", dir}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s build %s: %w: %s", kustomize, dir, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}
