// Package helmchart finds the Helm charts hubkit's tests install, in the Go
// modules that ship them: a chart is read from the Go module cache (fetched
// through the Go module proxy if it is not there yet), so nothing of it is
// committed here (MinIO's chart is AGPL-3.0). tools/pins.mk pins each chart
// as its module@version and its directory in the module (MINIO_CHART_MODULE,
// MINIO_CHART_PATH).
package helmchart

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/modfile"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/postrender"
	"helm.sh/helm/v3/pkg/release"

	"github.com/hubkit/hubkit/test/pins"
	"github.com/hubkit/hubkit/test/testenv"
)

// The pins of MinIO's chart in tools/pins.mk: its module@version, and the
// chart's directory in the module.
const (
	MinIOModulePin = "MINIO_CHART_MODULE"
	MinIOPathPin   = "MINIO_CHART_PATH"
)

// ModuleChart is the directory of the chart at path inside the module pin
// (module@version, as tools/pins.mk writes it), in the Go module cache. The
// directory is read-only: load it (helm's loader.Load), or copy it before
// changing it. It fails when path holds no Chart.yaml.
func ModuleChart(ctx context.Context, pin, path string) (string, error) {
	mod, err := pins.ModuleDir(ctx, pin)
	if err != nil {
		return "", fmt.Errorf("the chart %s in %s: %w", path, pin, err)
	}
	dir := filepath.Join(mod, filepath.FromSlash(path))
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err != nil {
		return "", fmt.Errorf("the chart %s in %s: %w", path, pin, err)
	}
	return dir, nil
}

// KubeVersion is the Kubernetes version charts are rendered for: that of
// the control plane the end-to-end tests run, k8s.io/kubernetes in
// tools/cluster/go.mod.
func KubeVersion() (string, error) {
	root, err := testenv.FindRepoRoot()
	if err != nil {
		return "", err
	}
	path := filepath.Join(root, "tools", "cluster", "go.mod")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	f, err := modfile.ParseLax(path, b, nil)
	if err != nil {
		return "", err
	}
	for _, r := range f.Require {
		if r.Mod.Path == "k8s.io/kubernetes" {
			return r.Mod.Version, nil
		}
	}
	return "", fmt.Errorf("%s requires no k8s.io/kubernetes", path)
}

// Template renders ch as `helm template` does, with Helm 3's library (a
// client-only dry-run install): release name, namespace, values, and post
// (nil: none) as its post-renderer. The release holds the manifest, as the
// post-renderer gave it back, and the hooks, which Helm 3 never
// post-renders.
func Template(ch *chart.Chart, name, namespace string, values map[string]any, post postrender.PostRenderer) (*release.Release, error) {
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun, install.ClientOnly, install.Replace = true, true, true
	install.ReleaseName, install.Namespace = name, namespace
	v, err := KubeVersion()
	if err != nil {
		return nil, err
	}
	kv, err := chartutil.ParseKubeVersion(v)
	if err != nil {
		return nil, err
	}
	install.KubeVersion = kv
	install.PostRenderer = post
	rel, err := install.Run(ch, values)
	if err != nil {
		return nil, fmt.Errorf("helm template %s: %w", name, err)
	}
	return rel, nil
}
