package gitops_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hubkit/hubkit/test/helmchart"
	"github.com/hubkit/hubkit/test/pins"
	"github.com/hubkit/hubkit/test/testenv"
)

// minioApp is an Application's path as a user of the Helm plugin keeps it:
// MinIO's chart, vendored (`helm pull --untar`), with the values and the
// function config of helm/examples/minio in a folder of their own.
func minioApp(t *testing.T) string {
	t.Helper()
	chart, err := helmchart.ModuleChart(context.Background(), pins.Get(t, helmchart.MinIOModulePin), pins.Get(t, helmchart.MinIOPathPin))
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "minio")
	require.NoError(t, os.CopyFS(dir, os.DirFS(chart)))
	require.NoError(t, os.CopyFS(filepath.Join(dir, "hubkit"), os.DirFS(filepath.Join(testenv.RepoRoot(t), "helm", "examples", "minio"))))
	return dir
}

// runHelmPlugin runs the plugin's init and generate commands as the CMP
// sidecar does: in the Application's path dir, with ARGOCD_APP_*,
// KUBE_VERSION and the Application's plugin env (ARGOCD_ENV_*), PATH as
// given.
func runHelmPlugin(t *testing.T, p plugin, dir, path string, env map[string]string) (stdout, stderr string, err error) {
	t.Helper()
	environ := []string{
		"PATH=" + path,
		"HOME=" + t.TempDir(),
		"HELM_CACHE_HOME=" + t.TempDir(), "HELM_CONFIG_HOME=" + t.TempDir(), "HELM_DATA_HOME=" + t.TempDir(),
		"ARGOCD_APP_NAME=minio",
		"ARGOCD_APP_NAMESPACE=minio",
		"KUBE_VERSION=1.36",
	}
	for k, v := range env {
		environ = append(environ, "ARGOCD_ENV_"+k+"="+v)
	}
	var out, errOut bytes.Buffer
	run := func(argv []string, stdout *bytes.Buffer) error {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir, cmd.Env = dir, environ
		cmd.Stdout, cmd.Stderr = stdout, &errOut
		return cmd.Run()
	}
	if err := run(p.Spec.Init.argv(), &errOut); err != nil {
		return "", errOut.String(), err
	}
	err = run(p.Spec.Generate.argv(), &out)
	return out.String(), errOut.String(), err
}

// The Helm plugin renders a chart and holds it to the function's rules:
// MinIO's standalone chart comes out with a Recreate rollout and passes
// audit; without the function on PATH the sync fails and prints nothing.
func TestArgoCDHelmPluginRendersAChartThroughTheFunction(t *testing.T) {
	var p plugin
	readYAML(t, filepath.Join("argocd", "helm", "plugin.yaml"), &p)
	helm, err := filepath.Abs(testenv.Helm(t))
	require.NoError(t, err)
	// The example Application's plugin env (gitops/argocd/helm/application.yaml).
	var app struct {
		Spec struct {
			Source struct {
				Plugin struct {
					Name string
					Env  []struct{ Name, Value string }
				}
			}
		}
	}
	readYAML(t, filepath.Join("argocd", "helm", "application.yaml"), &app)
	require.Equal(t, p.Metadata.Name+"-"+p.Spec.Version, app.Spec.Source.Plugin.Name, "the Application names the plugin as Argo CD names v2 plugins")
	env := map[string]string{}
	for _, e := range app.Spec.Source.Plugin.Env {
		env[e.Name] = e.Value
	}
	require.Equal(t, map[string]string{"VALUES": "hubkit/values.yaml", "SINGLETON": "hubkit/singleton.yaml"}, env)
	dir := minioApp(t)

	t.Run("with the function", func(t *testing.T) {
		// The sidecar's PATH: the function, helm, and the system.
		path := strings.Join([]string{fns.Dir(t), filepath.Dir(helm), "/usr/bin", "/bin"}, string(os.PathListSeparator))
		got, stderr, err := runHelmPlugin(t, p, dir, path, env)
		require.NoError(t, err, stderr)
		assert.Contains(t, got, "kind: Deployment")
		assert.Contains(t, got, "type: Recreate", "the function made MinIO's rollout Recreate")
		assert.Contains(t, got, "path: /minio/health/ready", "and gave it the probes the chart lacks")

	})
	t.Run("without the function the sync fails", func(t *testing.T) {
		onlyHelm := t.TempDir()
		require.NoError(t, os.Symlink(helm, filepath.Join(onlyHelm, "helm")))
		path := strings.Join([]string{onlyHelm, "/usr/bin", "/bin"}, string(os.PathListSeparator))
		got, stderr, err := runHelmPlugin(t, p, dir, path, env)
		require.Error(t, err, "the render must fail")
		assert.Empty(t, got, "and print no manifests")
		assert.Contains(t, stderr, "singleton")
	})
}
