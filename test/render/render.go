// Package render builds a kustomization the two ways hubkit's users do: with the
// kustomize library (krusty, as tools embed it) and with the kustomize CLI,
// both with exec functions enabled, as `kustomize build --enable-alpha-plugins
// --enable-exec` runs them. The overlays' singleton function is found on PATH.
package render

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Krusty builds dir with the kustomize library and returns the multi-document
// YAML that `kustomize build --enable-alpha-plugins --enable-exec dir` prints.
func Krusty(dir string) ([]byte, error) {
	opts := krusty.MakeDefaultOptions()
	// The library's default keeps input order; the CLI sorts (legacy order)
	// unless the kustomization says otherwise. Build what the CLI prints.
	opts.Reorder = krusty.ReorderOptionUnspecified
	opts.PluginConfig = types.EnabledPluginConfig(types.BploUseStaticallyLinked)
	opts.PluginConfig.HelmConfig.Enabled = false
	opts.PluginConfig.FnpLoadingOptions.EnableExec = true
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s (library): %w", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s (library): encode: %w", dir, err)
	}
	return out, nil
}

// CLI runs `kustomize build --enable-alpha-plugins --enable-exec dir` with the
// given binary. Its stderr is part of the error so that a failing build says
// why; on success it is returned too (the function's warnings go there).
func CLI(ctx context.Context, kustomize, dir string) (stdout, stderr []byte, err error) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, kustomize, "build", "--enable-alpha-plugins", "--enable-exec", dir)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, errOut.Bytes(), fmt.Errorf("%s build %s: %w: %s", kustomize, dir, err, strings.TrimSpace(errOut.String()))
	}
	return out.Bytes(), errOut.Bytes(), nil
}
